"""An accessibility check for browser tests: the rules whose violations axe-core rates serious or
critical, evaluated in the page (names of buttons, links and form controls, image text, duplicate ids,
the document's language, ARIA references), plus "nothing wider than the viewport"."""

from __future__ import annotations

from typing import Any

CHECK = r"""
() => {
  const problems = [];
  const visible = (el) => {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && (r.width > 0 || r.height > 0);
  };
  const text = (el) => (el.innerText || el.textContent || '').trim();
  const labelled = (el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = el.getAttribute('aria-labelledby');
    const named = (id) => document.getElementById(id) && text(document.getElementById(id));
    if (by && by.split(/\s+/).some(named)) return true;
    if ((el.getAttribute('title') || '').trim()) return true;
    return false;
  };
  const describe = (el) => el.tagName.toLowerCase() +
    (el.id ? '#' + el.id : '') +
    (el.getAttribute('name') ? '[name=' + el.getAttribute('name') + ']' : '') +
    (el.className && typeof el.className === 'string'
      ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  if (!(document.documentElement.getAttribute('lang') || '').trim()) problems.push('html-has-lang');
  if (!document.title.trim()) problems.push('document-title');
  const ids = {};
  document.querySelectorAll('[id]').forEach((el) => { ids[el.id] = (ids[el.id] || 0) + 1; });
  Object.entries(ids).filter(([, n]) => n > 1).forEach(([id]) => problems.push('duplicate-id: ' + id));
  document.querySelectorAll('button, [role=button], summary').forEach((el) => {
    if (visible(el) && !text(el) && !labelled(el)) problems.push('button-name: ' + describe(el));
  });
  document.querySelectorAll('a[href]').forEach((el) => {
    const img = el.querySelector('img[alt], svg[aria-label]');
    if (visible(el) && !text(el) && !labelled(el) && !img) problems.push('link-name: ' + describe(el));
  });
  document.querySelectorAll('img').forEach((el) => {
    if (!el.hasAttribute('alt')) problems.push('image-alt: ' + describe(el));
  });
  document.querySelectorAll('input, select, textarea').forEach((el) => {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'reset'].includes(type) || !visible(el)) return;
    const ok = labelled(el) || (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) ||
      el.closest('label');
    if (!ok) problems.push('label: ' + describe(el));
  });
  document.querySelectorAll('[aria-describedby], [aria-controls], [aria-labelledby]').forEach((el) => {
    ['aria-describedby', 'aria-controls', 'aria-labelledby'].forEach((attr) => {
      const v = el.getAttribute(attr);
      if (!v) return;
      v.split(/\s+/).forEach((id) => {
        if (!document.getElementById(id)) problems.push(attr + ' -> missing #' + id + ' on ' + describe(el));
      });
    });
  });
  const width = document.documentElement.clientWidth;
  const wide = document.documentElement.scrollWidth;
  if (wide > width + 1) problems.push('wider than the viewport: ' + wide + ' > ' + width);
  return problems;
}
"""


async def serious_violations(page: Any) -> list[str]:
    """Serious accessibility problems of the page as it is now (empty when there are none)."""
    return list(await page.evaluate(CHECK))
