// Every visible text node under `selector` whose colour against its effective background is below `minimum`
// (and how many were checked, and the lowest ratio seen).
// The background is found by walking up the ancestors and compositing their background colours
// (alpha included) over white; the text colour's alpha and the ancestors' opacity are applied too.
(args) => {
  const [selector, minimum] = args;
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const luminance = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const opacity = (element) => {
    let o = 1;
    for (let e = element; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o;
  };
  const failures = [];
  let checked = 0;
  let lowest = Infinity;
  for (const root of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim();
      const element = node.parentElement;
      if (!text || !element) continue;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      if (style.visibility !== "visible" || style.display === "none" || box.width === 0 || box.height === 0) continue;
      if (element.closest("[hidden]") || !element.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
      const back = background(element);
      const fore = parse(style.color);
      const alpha = fore.a * opacity(element);
      const shown = over({ ...fore, a: alpha }, back);
      const [l1, l2] = [luminance(shown), luminance(back)].sort((x, y) => y - x);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      checked += 1;
      lowest = Math.min(lowest, ratio);
      if (ratio < minimum) {
        failures.push({ text: text.slice(0, 50), ratio: Math.round(ratio * 100) / 100, color: style.color,
          background: `rgb(${Math.round(back.r)}, ${Math.round(back.g)}, ${Math.round(back.b)})`,
          where: (element.id ? "#" + element.id : element.className || element.tagName).toString().slice(0, 60) });
      }
    }
  }
  return { checked, lowest: Math.round(lowest * 100) / 100, failures };
}
