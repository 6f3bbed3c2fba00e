"""Optional e-mail copies of notifications, through an SMTP relay on the company's network (off by default).

Nothing connects anywhere until the admin has turned e-mail on and named a relay. Settings live in the
organisation settings (`smtp_*`); the relay password is encrypted with the installation's data key. Sending is
blocking (smtplib with a timeout) and runs in the scheduler's worker thread or `run.io_bound`, never on the event
loop. Delivery is an outbox: notifications are written with `email_state='pending'`; `deliver_pending` sends them,
marks each 'sent' or 'failed', and retries failures up to MAX_ATTEMPTS times.
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased

from appliance import i18n
from appliance.config import get_settings
from appliance.db import Database, get_database
from appliance.errors import N_, Conflict, ValidationError
from appliance.models import Notification, User
from appliance.secrets import data_encryption_key
from appliance.services import audit, orgsettings
from appliance.services.notifications import describe
from appliance.services.permissions import require

log = logging.getLogger('enclave.mail')

SECURITY = ('none', 'starttls', 'tls')
MAX_ATTEMPTS = 3
TIMEOUT_SECONDS = 20.0
KEYS = (
    'smtp_enabled',
    'smtp_host',
    'smtp_port',
    'smtp_security',
    'smtp_username',
    'smtp_password',
    'smtp_from',
    'smtp_site_url',
)
_HOST_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$')
_ADDRESS_RE = re.compile(r'^[^@\s<>"]{1,64}@[A-Za-z0-9.-]{1,253}$')


@dataclass(frozen=True)
class MailSettings:
    """The relay configuration (the password in clear: never show or log it)."""

    enabled: bool = False
    host: str = ''
    port: int = 25
    security: str = 'starttls'
    username: str = ''
    password: str = ''
    from_address: str = ''
    site_url: str = ''


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0


@lru_cache(maxsize=4)
def _fernet(data_dir: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b'enclave smtp').derive(
        data_encryption_key(Path(data_dir))
    )
    return Fernet(base64.urlsafe_b64encode(key))


def forget_key() -> None:
    """Derive the key again on next use (a restore brought the data key of the backup)."""
    _fernet.cache_clear()


def _cipher() -> Fernet:
    return _fernet(str(get_settings().data_dir))


def load(session: Session) -> MailSettings:
    """The stored relay configuration, password decrypted (no permission check: internal use)."""
    values = orgsettings.all_settings(session)
    password = ''
    if values.get('smtp_password'):
        try:
            password = _cipher().decrypt(values['smtp_password'].encode()).decode()
        except InvalidToken:
            log.warning('the stored SMTP password cannot be decrypted (data key changed?); enter it again')
    port = values.get('smtp_port', '')
    return MailSettings(
        enabled=values.get('smtp_enabled') == '1',
        host=values.get('smtp_host', ''),
        port=int(port) if port.isdigit() else 25,
        security=values.get('smtp_security') or 'starttls',
        username=values.get('smtp_username', ''),
        password=password,
        from_address=values.get('smtp_from', ''),
        site_url=values.get('smtp_site_url', ''),
    )


def get_settings_for_admin(*, session: Session, actor: User) -> tuple[MailSettings, bool]:
    """The configuration for the admin page, the password blanked; and whether a password is stored."""
    require(actor, 'core.manage_settings', target='settings:mail')
    current = load(session)
    has_password = bool(orgsettings.get(session, 'smtp_password'))
    return MailSettings(**{**current.__dict__, 'password': ''}), has_password


def validate(config: MailSettings) -> MailSettings:
    """A cleaned configuration, or ValidationError naming the field to fix."""
    host = config.host.strip()
    username = config.username.strip()
    from_address = config.from_address.strip()
    site_url = config.site_url.strip().rstrip('/')
    if config.security not in SECURITY:
        raise ValidationError(N_('Choose how to connect: none, STARTTLS or TLS.'), field='smtp_security')
    if not isinstance(config.port, int) or not 1 <= config.port <= 65535:
        raise ValidationError(N_('The port must be a number from 1 to 65535.'), field='smtp_port')
    if host and not _HOST_RE.match(host):
        raise ValidationError(N_('Enter the relay as a host name or an IP address.'), field='smtp_host')
    if from_address and not _ADDRESS_RE.match(from_address):
        raise ValidationError(N_('Enter the sender as an address such as enclave@example.com.'), field='smtp_from')
    if site_url and not re.match(r'^https?://[^\s/]+(/[^\s]*)?$', site_url):
        raise ValidationError(N_('Enter the address of Enclave such as https://enclave.example.com.'), field='site')
    if config.enabled and not host:
        raise ValidationError(N_('Enter the relay host before turning e-mail on.'), field='smtp_host')
    if config.enabled and not from_address:
        raise ValidationError(N_('Enter the sender address before turning e-mail on.'), field='smtp_from')
    if len(username) > 200 or len(config.password) > 500:
        raise ValidationError(N_('The user name or password is too long.'), field='smtp_username')
    return MailSettings(
        enabled=config.enabled,
        host=host,
        port=config.port,
        security=config.security,
        username=username,
        password=config.password,
        from_address=from_address,
        site_url=site_url,
    )


def save(*, session: Session, actor: User, config: MailSettings, keep_password: bool = True) -> None:
    """Store the relay configuration (admins). An empty password with `keep_password` keeps the stored one."""
    require(actor, 'core.manage_settings', target='settings:mail')
    clean = validate(config)
    values = {
        'smtp_enabled': '1' if clean.enabled else '0',
        'smtp_host': clean.host,
        'smtp_port': str(clean.port),
        'smtp_security': clean.security,
        'smtp_username': clean.username,
        'smtp_from': clean.from_address,
        'smtp_site_url': clean.site_url,
    }
    for key, value in values.items():
        orgsettings.put(session, key, value)
    if clean.password or not keep_password:
        encrypted = _cipher().encrypt(clean.password.encode()).decode() if clean.password else ''
        orgsettings.put(session, 'smtp_password', encrypted)
    details = {**values, 'password_changed': bool(clean.password) or not keep_password}
    audit.record(session=session, actor=actor, action='settings.mail', target='mail', details=details)


def _connect(config: MailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.security == 'tls':
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_SECONDS)
        if config.security == 'starttls':
            client.starttls(context=context)
    if config.username:
        client.login(config.username, config.password)
    return client


def _message(config: MailSettings, *, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message['From'] = formataddr(('Enclave', config.from_address))
    message['To'] = to
    message['Subject'] = ' '.join(subject.split())[:250]
    message['Message-ID'] = make_msgid(domain=config.from_address.rpartition('@')[2] or None)
    message['Auto-Submitted'] = 'auto-generated'
    message.set_content(text)
    return message


def send_test(*, session: Session, actor: User, to: str = '') -> str:
    """Send a test e-mail (to `to`, default the admin's own address) with the stored settings; returns the address.

    Blocking: call it in a read-only session on a database thread (`read` from a page). Failures raise Conflict
    with the relay's answer.
    """
    require(actor, 'core.manage_settings', target='settings:mail')
    config = load(session)
    recipient = (to or actor.email).strip()
    if not config.host or not config.from_address:
        raise Conflict(N_('Save the relay host and the sender address first.'))
    if not _ADDRESS_RE.match(recipient):
        raise ValidationError(N_('Enter the address to send the test to.'), field='to')
    subject = i18n.gettext(N_('Test e-mail from Enclave'))
    text = i18n.gettext(N_('E-mail from Enclave works. This message was sent by {name}.'), name=actor.display_name)
    try:
        with _connect(config) as client:
            client.send_message(_message(config, to=recipient, subject=subject, text=text))
    except (OSError, smtplib.SMTPException) as error:
        audit.record_now(actor=actor, action='settings.mail.test_failed', target='mail', details={'to': recipient})
        raise Conflict(N_('The relay refused or could not be reached: {reason}'), reason=_reason(error)) from None
    # In a transaction of its own: the test runs in a read-only one, so no write lock is held while the relay talks.
    audit.record_now(actor=actor, action='settings.mail.test', target='mail', details={'to': recipient})
    return recipient


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error.decode(errors='replace') if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f'{error.smtp_code} {detail}'[:300]
    return (str(error) or type(error).__name__)[:300]


@dataclass(frozen=True)
class _Outgoing:
    id: int
    to: str
    subject: str
    text: str


def _compose(session: Session, config: MailSettings, limit: int) -> tuple[list[_Outgoing], list[int]]:
    """The next messages to send, and the ids of notifications that cannot be e-mailed (no address)."""
    actor = aliased(User)
    rows = session.execute(
        select(Notification, User, actor.display_name)
        .join(User, User.id == Notification.user_id)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .where(
            or_(Notification.email_state == 'pending', Notification.email_state == 'failed'),
            Notification.email_attempts < MAX_ATTEMPTS,
        )
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    outgoing: list[_Outgoing] = []
    skipped: list[int] = []
    for note, user, actor_name in rows:
        if not user.is_active or not _ADDRESS_RE.match(user.email or ''):
            skipped.append(note.id)
            continue
        token = i18n.current_language.set(user.language)
        try:
            subject = describe(note.module, note.kind, actor_name=actor_name or '', title=note.title)
            link = (config.site_url + note.url) if config.site_url and note.url.startswith('/') else note.url
            parts = [subject, note.body, link, '', i18n.gettext(N_('You get this because of your Enclave account.'))]
        finally:
            i18n.current_language.reset(token)
        outgoing.append(_Outgoing(note.id, user.email, subject, '\n\n'.join(part for part in parts if part)))
    return outgoing, skipped


def deliver_pending(database: Database | None = None, *, limit: int = 50) -> DeliveryReport:
    """Send pending (and earlier failed) notification e-mails; mark each sent or failed. Blocking.

    Does nothing unless e-mail is enabled. The database is not held while talking to the relay.
    """
    database = database or get_database()
    with database.session(write=True) as session:
        config = load(session)
        if not config.enabled or not config.host:
            return DeliveryReport()
        outgoing, skipped = _compose(session, config, limit)
        if skipped:
            session.execute(update(Notification).where(Notification.id.in_(skipped)).values(email_state=''))
    sent: list[int] = []
    failed: list[int] = []
    if outgoing:
        try:
            with _connect(config) as client:
                for item in outgoing:
                    try:
                        client.send_message(_message(config, to=item.to, subject=item.subject, text=item.text))
                        sent.append(item.id)
                    except smtplib.SMTPRecipientsRefused as error:
                        log.warning('relay refused notification %d: %s', item.id, _reason_of_refusal(error))
                        failed.append(item.id)
                    except smtplib.SMTPResponseException as error:
                        log.warning('relay refused notification %d: %s', item.id, _reason(error))
                        failed.append(item.id)
        except (OSError, smtplib.SMTPException) as error:
            log.warning('e-mail relay %s:%d failed: %s', config.host, config.port, _reason(error))
            done = set(sent)
            failed = [item.id for item in outgoing if item.id not in done]
    with database.session(write=True) as session:
        if sent:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(sent))
                .values(email_state='sent', email_attempts=Notification.email_attempts + 1)
            )
        if failed:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(failed))
                .values(email_state='failed', email_attempts=Notification.email_attempts + 1)
            )
    return DeliveryReport(sent=len(sent), failed=len(failed), skipped=len(skipped))


def _reason_of_refusal(error: smtplib.SMTPRecipientsRefused) -> str:
    return '; '.join(f'{code} {msg!r}' for code, msg in error.recipients.values())[:300]


def run_delivery() -> None:
    """The scheduler's entry point: deliver when e-mail is on (a cheap check otherwise)."""
    report = deliver_pending()
    if report.sent or report.failed:
        log.info('e-mail: %d sent, %d failed', report.sent, report.failed)
