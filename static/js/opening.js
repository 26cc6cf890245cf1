/* The opening page.  Served as a file: the Content-Security-Policy allows no inline script. */
(function () {
  'use strict';
  // "Confirm the record" sends no objection text, whatever was typed in the box.
  document.querySelectorAll('button[data-clears]').forEach(function (button) {
    button.addEventListener('click', function () {
      var field = button.form && button.form.elements[button.getAttribute('data-clears')];
      if (field) { field.value = ''; }
    });
  });
  // The page follows the ceremony for those watching: it reloads while the bids are not yet opened,
  // unless someone is typing an objection.
  var reload = document.querySelector('[data-reload-every]');
  if (reload) {
    setTimeout(function () {
      if (!document.querySelector('textarea:focus')) { window.location.reload(); }
    }, parseInt(reload.getAttribute('data-reload-every'), 10) || 10000);
  }
}());
