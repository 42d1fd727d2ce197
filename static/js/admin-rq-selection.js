/* django-rq's job and worker lists: the "select all" box, and selected rows marked as in
   the admin's own lists. django-rq's boxes have no label; each is given one here, naming
   the row it selects, so that a screen reader says what it checks. */
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const toggle = document.getElementById('action-toggle');
  const boxes = Array.from(document.querySelectorAll('tr input.action-select'));
  const mark = (box) => box.closest('tr').classList.toggle('selected', box.checked);
  if (toggle) {
    toggle.setAttribute('aria-label', 'Select every row on this page');
  }
  boxes.forEach((box) => {
    box.setAttribute('aria-label', `Select ${box.value}`);
    mark(box);
    box.addEventListener('change', () => {
      mark(box);
      if (toggle) {
        toggle.checked = boxes.every((each) => each.checked);
      }
    });
  });
  if (toggle) {
    toggle.addEventListener('change', () => {
      boxes.forEach((box) => {
        box.checked = toggle.checked;
        mark(box);
      });
    });
  }
});
