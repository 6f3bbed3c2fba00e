# Enclave: `make run` serves the app on http://127.0.0.1:8080; `make test` runs the whole suite.
# Both install what they need first (Python packages into .venv, Debian packages through apt when root).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ENCLAVE_DATA_DIR ?= $(CURDIR)/var
# Python may keep the bytecode it compiles (under .venv and in ignored __pycache__ folders). With
# PYTHONDONTWRITEBYTECODE set (as in many container images) every process compiled every module it imported from
# source again: `enclave health` took 4.0 s instead of 1.5, and the suite starts hundreds of processes.
unexport PYTHONDONTWRITEBYTECODE
PYTEST_ARGS ?=
# Three workers on two cores: much of the suite waits on subprocesses, restic, browsers and servers (11m38s against
# 14m36s with two, measured on a 2-core machine). The browser stories and provisioning each keep to one worker
# (SERIAL_GROUPS in tests/support/markers.py).
XDIST ?= -n 3 --dist loadgroup
FAST_TIERS := not ui and not restic and not system and not e2e

.PHONY: run test test-fast check bench i18n system-deps test-system-deps deps clean lock migrate test-postgres bundle bundle-test \
	image image-test upgrade-test demo screenshots

run: deps
	$(BIN)/enclave migrate
	PYTHONMALLOC=malloc LD_PRELOAD=libjemalloc.so.2 MALLOC_CONF=background_thread:true $(BIN)/enclave serve --no-migrate

migrate: deps
	$(BIN)/enclave migrate

# A demo organisation (星河科技: seven people, four projects with tasks in every state) in a new data dir, for trying
# the product: make demo && make run. Refused when the data dir is already set up (ENCLAVE_DATA_DIR=... for another);
# DEMO_PASSWORD sets the accounts' password, otherwise one is made up and printed.
demo: deps
	$(BIN)/python scripts/demo.py

deps: system-deps $(STAMP)

# The venv is rebuilt whenever the lock files change; installs are hash-checked and take exactly the locked
# packages (--no-deps: nothing is resolved against what the index holds today); pip check fails on an incomplete lock.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --python $(BIN)/python --quiet --require-hashes --no-deps --compile-bytecode -r requirements-dev.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	$(BIN)/python -m pip check --disable-pip-version-check >/dev/null || { $(BIN)/python -m pip check; echo 'requirements-dev.lock is incomplete: run make lock' >&2; exit 1; }
	touch $@

# Debian packages the app needs at run time (python3-venv for the venv; restic for backups; jemalloc, see
# appliance/ui/memory.py).
system-deps:
	@scripts/apt-ensure.sh python3-venv:/usr/lib/python3*/ensurepip restic:/usr/bin/restic \
		libjemalloc2:'/usr/lib/*/libjemalloc.so.2'

# ... and the browser the end-to-end tests drive; nginx for the proxy tests; GRUB's tools, sfdisk and qemu for the
# image's boot loader checked on a small disk.
test-system-deps: system-deps
	@scripts/apt-ensure.sh chromium:/usr/bin/chromium chromium-driver:/usr/bin/chromedriver openssh-server:/usr/sbin/sshd \
		nginx:/usr/sbin/nginx grub-pc-bin:/usr/lib/grub/i386-pc/boot.img grub-common:/usr/bin/grub-mkimage \
		fdisk:/usr/sbin/sfdisk qemu-system-x86:/usr/bin/qemu-system-x86_64 \
		fonts-noto-cjk:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

# Everything: services, API, contract, ui, restic, system and e2e (under 15 minutes on an idle 2-core machine).
test: test-system-deps $(STAMP)
	$(BIN)/pytest -q $(XDIST) $(PYTEST_ARGS)

# The fast tier: services, API and the generated contract test (about a minute); no browser, restic or subprocesses.
test-fast: $(STAMP)
	$(BIN)/pytest -q $(XDIST) -m '$(FAST_TIERS)' $(PYTEST_ARGS)

# The service and API tests again, against a throwaway PostgreSQL on loopback (not the tests of the enclave command
# and of start-up, which run it as a subprocess on the data dir's SQLite database).
test-postgres: $(STAMP)
	scripts/pg-test.sh $(BIN)/pytest -q tests/appliance tests/modules tests/test_contract.py tests/console/test_database_kinds.py -m 'not e2e' \
		--ignore=tests/appliance/ui --ignore=tests/appliance/test_cli.py --ignore=tests/appliance/test_startup.py \
		--ignore=tests/appliance/test_clean_stop.py --ignore-glob='*test_pages*' --ignore-glob='*_ui.py' $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy appliance modules console scripts/boundaries.py scripts/new_module.py scripts/demo.py
	$(BIN)/python scripts/boundaries.py
	$(BIN)/python scripts/i18n.py check
	scripts/alembic-check.sh $(BIN)

# The README's screenshot tour (docs/screenshots/), made by the visual pass from the demo organisation.
screenshots: test-system-deps $(STAMP)
	ENCLAVE_TOUR_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/e2e/test_visual_pass.py \
		-k 'seeded or li.ming'

# Speed figures against same-run baselines: projects and tasks (tests/bench/bench_tasks.py, BENCH_ARGS) and
# backups vs bare restic on ~1 GiB (tests/bench/bench_backup.py, BACKUP_BENCH_ARGS, e.g. --backup-mib 256); server CPU
# per page (home, board, list) vs the page's raw SQL (tests/bench/bench_pages.py, PAGES_BENCH_ARGS, e.g. --runs 30); a
# company at work on two workers behind nginx: 100 people for 5 minutes, then steps of more (tests/bench/bench_mixed.py,
# MIXED_BENCH_ARGS, e.g. --seconds 60); memory: 200 real tabs opened and closed 10 times, RSS idle, per tab and a
# minute after they close (tests/bench/bench_memory.py, MEMORY_BENCH_ARGS, e.g. --cycles 3 --settle 20).
bench: test-system-deps $(STAMP)
	$(BIN)/python -m tests.bench.bench_elements
	$(BIN)/python -m tests.bench.bench_tasks $(BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_pages $(PAGES_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_backup $(BACKUP_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_load $(LOAD_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_files $(FILES_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_mixed $(MIXED_BENCH_ARGS)
	$(BIN)/python -m tests.bench.bench_memory $(MEMORY_BENCH_ARGS)

# The offline install bundle, dist/enclave-<version>-bundle.tar, signed with the vendor's release key (an Ed25519
# PEM kept outside the repository): make bundle RELEASE_KEY=/path/to/release-key.pem. Its debs are what a minimal
# Debian 12 root lacks, so a throwaway root is made with debootstrap first.
bundle: $(STAMP)
	@test -n "$(RELEASE_KEY)" || { echo 'Set RELEASE_KEY=/path/to/the-release-key.pem (Ed25519, kept offline).' >&2; exit 1; }
	@scripts/apt-ensure.sh debootstrap:/usr/sbin/debootstrap
	$(BIN)/python -m provisioning.bundle --signing-key $(RELEASE_KEY)

# Install a bundle (signed with the test key) into a fresh Debian 12 root with no network, twice; the app answers.
bundle-test: $(STAMP)
	@scripts/apt-ensure.sh debootstrap:/usr/sbin/debootstrap
	$(BIN)/pytest -q tests/provisioning/install_story.py

# Upgrades with real bundles in a fresh Debian 12 root with no network: N -> N+1 with a migration, a failing migration
# rolled back by itself, a hard stop at a random step recovered, and "Roll back" on request (as root).
upgrade-test: $(STAMP)
	@scripts/apt-ensure.sh debootstrap:/usr/sbin/debootstrap
	$(BIN)/pytest -q -s tests/provisioning/upgrade_story.py

# The appliance image (as root): dist/enclave-<version>.qcow2 and .ova, the bundle they were installed from and
# SHA256SUMS. Without RELEASE_KEY the bundle inside is signed with the test key (a build for tests only).
IMAGE_KEY = $(or $(RELEASE_KEY),tests/provisioning/keys/TEST-ONLY-release-private.pem)
IMAGE_TOOLS = debootstrap:/usr/sbin/debootstrap mmdebstrap:/usr/bin/mmdebstrap qemu-utils:/usr/bin/qemu-img \
	grub-pc-bin:/usr/lib/grub/i386-pc/boot.img grub-common:/usr/bin/grub-mkimage fdisk:/usr/sbin/sfdisk
image: $(STAMP)
	@scripts/apt-ensure.sh $(IMAGE_TOOLS)
	$(BIN)/python -m provisioning.image --signing-key $(IMAGE_KEY)

# Build the image, then boot it: a fast systemd-nspawn check of its root, then the qcow2 under qemu (TCG): HTTPS,
# the setup wizard, the hardened app unit, only 80/443 open, first boot once. Every step has a deadline.
image-test: image
	@scripts/apt-ensure.sh qemu-system-x86:/usr/bin/qemu-system-x86_64 systemd-container:/usr/bin/systemd-nspawn
	$(BIN)/pytest -q tests/provisioning/image_story.py

i18n: $(STAMP)
	$(BIN)/python scripts/i18n.py extract

# Regenerate the lock files after changing dependencies in pyproject.toml.
# Needs only uv (not an installed venv: after a change to pyproject.toml the venv cannot be installed until relocked).
lock:
	test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9; }
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -q -o requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
