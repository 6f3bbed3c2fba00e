// Uploads by PUT (appliance/ui/upload.py, upload_button): each chosen file is sent as the raw request body (the
// browser streams it, any size) to `url?filename=...` with the session cookie of this origin. Progress goes into
// the element `statusId`. Resolves with the count, the failures and the answers of the files that arrived.
window.enclave = window.enclave || {};
window.enclave.upload = function (input, url, statusId) {
  const files = Array.from(input.files || []);
  const status = document.getElementById(statusId);
  const failed = [];
  const done = [];
  const send = (file) =>
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url + "?filename=" + encodeURIComponent(file.name));
      xhr.withCredentials = true;
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.upload.onprogress = (event) => {
        if (status && event.lengthComputable) {
          status.textContent = file.name + " " + Math.round((100 * event.loaded) / event.total) + "%";
        }
      };
      xhr.onload = () => {
        if (xhr.status < 300) {
          try {
            done.push(JSON.parse(xhr.responseText));
          } catch (error) {
            done.push({});
          }
        } else {
          let message = "";
          try {
            message = JSON.parse(xhr.responseText).error.message;
          } catch (error) {
            message = xhr.statusText;
          }
          failed.push({ name: file.name, message: message || String(xhr.status) });
        }
        resolve();
      };
      xhr.onerror = () => {
        failed.push({ name: file.name, message: "" });
        resolve();
      };
      xhr.send(file);
    });
  return files
    .reduce((chain, file) => chain.then(() => send(file)), Promise.resolve())
    .then(() => {
      input.value = "";
      if (status) status.textContent = "";
      return { count: files.length, failed: failed, done: done };
    });
};
