// The checks of page_checks.py, run in the page: what each finds, by kind.
(() => {
  const out = {unlabelled: [], nameless: [], lowContrast: [], overflow: []};
  const shown = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const html = el => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset'].includes(el.type)) continue;
    const label = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
      || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!label) out.unlabelled.push(html(el));
  }
  for (const el of document.querySelectorAll('a[href], button, input[type=submit]')) {
    if (!shown(el)) continue;
    const alts = Array.from(el.querySelectorAll('img[alt]')).map(i => i.alt).join('');
    const name = (el.innerText || el.value || el.getAttribute('aria-label') || el.title || alts).trim();
    if (!name) out.nameless.push(html(el));
  }
  const rgba = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const over = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    return layers.reverse().reduce((under, top) => over(top, under), {r: 255, g: 255, b: 255, a: 1}); };
  for (const el of document.querySelectorAll('body *')) {
    if (!shown(el) || !Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const s = getComputedStyle(el); const fg = rgba(s.color); if (!fg) continue;
    const bg = background(el); const L1 = lum(over(fg, bg)), L2 = lum(bg);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(s.fontSize); const large = size >= 24 || (parseInt(s.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5))
      out.lowContrast.push(`${ratio.toFixed(2)}: ${s.color} on ${JSON.stringify(bg)}: ${el.innerText.trim().slice(0, 40)}`);
  }
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width)
    for (const el of document.querySelectorAll('body *'))
      if (shown(el) && el.getBoundingClientRect().right > width + 1 && out.overflow.length < 5)
        out.overflow.push(html(el));
  return out;
})
