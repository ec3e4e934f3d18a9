// The console's one script (CSP: script-src 'self', no inline code): the copy button on the
// page that shows a newly issued API key once. Everything else works without JavaScript.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP consoles on a non-loopback address are not a secure context: fall back.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand("copy");
  } finally {
    document.body.removeChild(area);
  }
  return Promise.resolve();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      copyText(source.textContent.trim()).then(() => {
        button.textContent = button.dataset.copied;
        button.classList.add("done");
      });
    });
  }
});
