// Attachment upload: each chosen file is PUT as the raw request body (the browser streams it, any size), with
// the session cookie of this origin. Progress goes into the element `statusId`. Resolves with the failures.
window.enclaveTasks = window.enclaveTasks || {};
window.enclaveTasks.upload = function (input, url, statusId) {
  const files = Array.from(input.files || []);
  const status = document.getElementById(statusId);
  const failed = [];
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
        if (xhr.status >= 300) {
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
      return { count: files.length, failed: failed };
    });
};
