// The scanning field: a USB barcode scanner types a code and presses Enter. Each code is taken
// out of the field at once (the next scan can start while the server answers) and posted in
// order with htmx; the answer is a line added to the log and the current location (out of band).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("scan-form");
  if (!form || !window.htmx) return;  // without htmx the form posts and the page comes back
  const field = form.elements.code;
  let queue = Promise.resolve();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = field.value.trim();
    field.value = "";
    field.focus();
    if (!code) return;
    queue = queue.then(() => htmx.ajax("POST", form.action, {
      target: "#scan-log", swap: "afterbegin",
      values: {code: code, location: form.elements.location.value,
               csrfmiddlewaretoken: form.elements.csrfmiddlewaretoken.value},
    })).then(() => document.getElementById("scan-empty")?.remove()).catch(() => {});
  });
});
