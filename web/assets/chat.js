// The web chat's few behaviours Gradio has no event for; loaded in the page's <head>.
// [n] links open their answer's sources (a drawer on narrow screens) and scroll to the card; "Copy"
// copies an answer with its sources; "Sources" opens and closes the drawer; on a phone the chat list
// starts closed. Nothing is fetched.
(() => {
  const NARROW = window.matchMedia("(max-width: 760px)");

  function drawerOpen() {
    return document.getElementById("dsqa-side")?.classList.contains("dsqa-open") ?? false;
  }

  function setDrawer(open) {
    const shown = open && NARROW.matches;
    document.getElementById("dsqa-side")?.classList.toggle("dsqa-open", shown);
    const toggle = document.getElementById("dsqa-sources-toggle");
    toggle?.classList.toggle("dsqa-open", shown);
    toggle?.setAttribute("aria-expanded", String(shown));
  }

  function showSource(href) {
    const match = /^#dsqa-src-(\d+)-(\d+)$/.exec(href || "");
    if (!match) return;
    document.querySelectorAll("#dsqa-sources section.dsqa-turn").forEach((section) => {
      section.hidden = section.dataset.turn !== match[1];
    });
    setDrawer(true);
    const card = document.getElementById(href.slice(1));
    if (!card) return;
    card.classList.remove("dsqa-flash");
    void card.offsetWidth; // restart the highlight animation
    card.classList.add("dsqa-flash");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  async function copyAnswer(button) {
    const holder = button.parentElement.querySelector(".dsqa-copy-text");
    const text = holder ? holder.textContent : "";
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Not a secure context (plain http beyond localhost): the old way still works.
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  }

  // On a phone the chat list is an overlay: start closed, and close it once a chat is picked.
  function closeSidebar() {
    const sidebar = document.getElementById("dsqa-sidebar");
    if (sidebar && NARROW.matches && sidebar.classList.contains("open")) {
      sidebar.querySelector(".toggle-button")?.click();
    }
  }
  let waited = 0;
  const waitForSidebar = setInterval(() => {
    if (document.getElementById("dsqa-sidebar") || ++waited > 200) {
      clearInterval(waitForSidebar);
      closeSidebar();
    }
  }, 50);

  document.addEventListener(
    "click",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      const cite = target.closest("a.dsqa-cite");
      if (cite) {
        event.preventDefault();
        event.stopPropagation();
        showSource(cite.getAttribute("href"));
        return;
      }
      const copy = target.closest("button.dsqa-copy");
      if (copy) {
        event.preventDefault();
        copyAnswer(copy);
        return;
      }
      if (target.closest("#dsqa-chats label, #dsqa-new-chat")) {
        setTimeout(closeSidebar, 150);
      }
      if (target.closest("#dsqa-sources-toggle")) {
        setDrawer(!drawerOpen());
      } else if (target.closest(".dsqa-drawer-close")) {
        setDrawer(false);
      }
    },
    true,
  );
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setDrawer(false);
  });
  NARROW.addEventListener("change", () => setDrawer(false));
})();
