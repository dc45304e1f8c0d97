// The Ontraport page: the access key is fetched (POST, CSRF-checked) only when the owner clicks "Show key" or
// a copy button, so it is never in the page's source.
(function () {
  "use strict";
  const script = document.getElementById("op-script");
  const keyUrl = script.dataset.keyUrl;
  const placeholder = script.dataset.placeholder;
  let key = null;

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function fetchKey() {
    if (key === null) {
      const answer = await fetch(keyUrl, {method: "POST", headers: {"X-CSRFToken": csrfToken()}, credentials: "same-origin"});
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      key = (await answer.json()).access_key;
    }
    return key;
  }

  function filled(template, value) {
    return template.split(placeholder).join(encodeURIComponent(value));
  }

  document.getElementById("op-show-key").addEventListener("click", async function () {
    const value = await fetchKey();
    document.querySelectorAll(".op-url").forEach(function (code) {
      code.textContent = filled(code.dataset.template, value);
    });
    this.disabled = true;
    this.textContent = "Key shown";
  });

  document.querySelectorAll(".op-copy").forEach(function (button) {
    button.addEventListener("click", async function () {
      const code = button.closest("tr").querySelector(".op-url");
      const url = filled(code.dataset.template, await fetchKey());
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch (error) {
        // No clipboard API (a plain-http host, an old browser): select the text, try the older copy command.
        code.textContent = url;
        window.getSelection().selectAllChildren(code);
        try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
      }
      // Say "Copied" only when something was: otherwise the URL is selected for Ctrl+C.
      button.textContent = copied ? "Copied" : "Selected: press Ctrl+C";
      setTimeout(function () { button.textContent = "Copy"; }, copied ? 2000 : 6000);
    });
  });
})();
