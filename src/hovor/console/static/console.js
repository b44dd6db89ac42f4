// The console's only script besides htmx: error states of partial updates. No inline handlers
// anywhere (the Content-Security-Policy forbids them).
document.addEventListener("htmx:responseError", function (event) {
  var target = event.detail.target;
  if (!target) return;
  var status = event.detail.xhr ? event.detail.xhr.status : 0;
  if (status === 400 || status === 409) {
    // The server answered with a message of its own: show it.
    target.innerHTML = event.detail.xhr.responseText;
    return;
  }
  var note = document.createElement("p");
  note.className = "error";
  note.setAttribute("role", "alert");
  note.textContent = document.documentElement.lang === "cs"
    ? "Něco se nepovedlo. Zkuste to znovu."
    : "Something went wrong. Try again.";
  target.replaceChildren(note);
});
document.addEventListener("htmx:sendError", function (event) {
  var target = event.detail.target;
  if (!target) return;
  var note = document.createElement("p");
  note.className = "error";
  note.setAttribute("role", "alert");
  note.textContent = document.documentElement.lang === "cs"
    ? "Server je nedostupný. Zkuste to znovu."
    : "The server cannot be reached. Try again.";
  target.replaceChildren(note);
});
