/*
 * Sunbid: the bid form's "file I sealed myself (.age)" choice, sent in resumable pieces (tus 1.0.0) with the
 * vendored tus-js-client (static/vendor/tus-js-client/).
 *
 * Progressive enhancement of the form in templates/tender/detail.html: without JavaScript, or in a browser
 * tus-js-client does not support, or for the other choice (a bid package sealed on the server, which cannot
 * resume), the form posts as before.  With it, the chosen .age file goes to the form's data-tus-endpoint
 * (POST /tenders/<id>/uploads?lot=N, then PATCH in pieces of data-chunk-size bytes), with the session's CSRF
 * token in the X-CSRFToken header.  A broken connection is retried after data-retry-delays milliseconds,
 * continuing from the offset the platform reports; the upload's address is kept in the browser's local
 * storage, so that choosing the same file again after a reload continues it.  When the last piece has arrived
 * the browser goes to <upload address>/done, which shows the tender page with the bid and its message.
 * The texts come translated from the page (#bid-upload-text).
 */
(function () {
  'use strict';

  var form = document.getElementById('bid-form');
  var textBlock = document.getElementById('bid-upload-text');
  if (!form || !textBlock || !form.dataset.tusEndpoint || !window.tus || !window.tus.isSupported) {
    return;
  }
  var text = JSON.parse(textBlock.textContent);
  var progressBox = document.getElementById('bid-upload-progress');
  var meter = progressBox.querySelector('.progress');
  var bar = progressBox.querySelector('.progress-bar');
  var statusLine = progressBox.querySelector('[role="status"]');
  var errorBox = document.getElementById('bid-upload-error');
  var MB = 1024 * 1024;
  var AGE_INTRO = 'age-encryption.org/v1\n';
  var AGE_ARMOR = '-----BEGIN AGE ENCRYPTED FILE-----';
  var ZIP_START = 'PK\u0003\u0004';
  var busy = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function chosenMode() {
    var checked = form.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : 'sealed';
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function showProgress(percent) {
    progressBox.hidden = false;
    bar.style.width = percent + '%';
    bar.textContent = percent + '%';
    meter.setAttribute('aria-valuenow', String(percent));
  }

  function setBusy(on) {
    busy = on;
    Array.prototype.forEach.call(form.querySelectorAll('input, select, button'), function (el) {
      if (el.type !== 'hidden') {
        el.disabled = on;
      }
    });
    bar.classList.toggle('progress-bar-animated', on);
  }

  function fail(message) {
    setBusy(false);
    say('');
    if (meter.getAttribute('aria-valuenow') === '0') {
      progressBox.hidden = true; // nothing was sent: no bar to show
    }
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  // The first bytes of the file, as text (only ASCII is compared), to refuse at once what the platform
  // would refuse only after the last byte arrived.
  function readStart(file, size) {
    return file.slice(0, size).arrayBuffer().then(function (buffer) {
      return String.fromCharCode.apply(null, new Uint8Array(buffer));
    });
  }

  function localRefusal(file, start) {
    if (file.size === 0) {
      return text.empty;
    }
    if (start.indexOf(ZIP_START) === 0) {
      return text.zip;
    }
    if (start.indexOf(AGE_ARMOR) === 0) {
      return text.armored;
    }
    if (start.indexOf(AGE_INTRO) !== 0) {
      return text.not_age;
    }
    return null;
  }

  // The platform's message from its JSON error body; otherwise a lost connection or the bare status.
  function explain(error) {
    var response = error && error.originalResponse;
    if (!response || !response.getStatus()) {
      return text.lost;
    }
    try {
      var body = JSON.parse(response.getBody());
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (ignored) {
      // not JSON: fall through to the status
    }
    return fill(text.failed, {status: response.getStatus()});
  }

  // tus-js-client's own rule (network errors, 5xx, 409 offset mismatch, 423 busy), saying so on the page.
  function shouldRetry(error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    var retry = (status < 400 || status >= 500 || status === 409 || status === 423) && navigator.onLine !== false;
    if (retry) {
      say(text.retrying);
    }
    return retry;
  }

  function retryDelays() {
    try {
      var delays = JSON.parse(form.dataset.retryDelays || '');
      if (Array.isArray(delays)) {
        return delays;
      }
    } catch (ignored) {
      // the default below
    }
    return [0, 1000, 3000, 5000, 10000];
  }

  function endpoint() {
    var lot = form.elements.lot ? form.elements.lot.value : '1';
    var typed = function (name) {
      return form.elements[name] ? form.elements[name].value : '';
    };
    // the bidder's confirmation of what the sealed file is for (checked by the platform before the upload)
    return form.dataset.tusEndpoint + '?lot=' + encodeURIComponent(lot) +
      '&confirm_tender=' + encodeURIComponent(typed('confirm_tender')) +
      '&confirm_lot=' + encodeURIComponent(typed('confirm_lot'));
  }

  function send(file) {
    setBusy(true);
    errorBox.hidden = true;
    showProgress(0);
    say(text.checking);
    readStart(file, AGE_ARMOR.length).then(function (start) {
      var refusal = localRefusal(file, start);
      if (refusal) {
        fail(refusal);
        return;
      }
      var upload = new window.tus.Upload(file, {
        endpoint: endpoint(),
        chunkSize: Number(form.dataset.chunkSize) || 8 * MB,
        retryDelays: retryDelays(),
        headers: {'X-CSRFToken': form.elements.csrf_token.value},
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onShouldRetry: shouldRetry,
        onProgress: function (sent, total) {
          var percent = total ? Math.floor(sent * 100 / total) : 0;
          showProgress(percent);
          say(sent >= total ? text.finishing : fill(text.progress, {
            done: (sent / MB).toFixed(1), total: (total / MB).toFixed(1), percent: percent}));
        },
        onSuccess: function () {
          showProgress(100);
          say(text.done);
          window.location.assign(upload.url.replace(/\/+$/, '') + '/done');
        },
        onError: function (error) {
          fail(explain(error));
        }
      });
      return upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          previous.sort(function (a, b) {
            return (Date.parse(b.creationTime) || 0) - (Date.parse(a.creationTime) || 0);
          });
          upload.resumeFromPreviousUpload(previous[0]);
          say(text.resuming);
        } else {
          say(text.starting);
        }
        upload.start();
      });
    }).catch(function (error) {
      fail(explain(error));
    });
  }

  form.addEventListener('submit', function (event) {
    if (chosenMode() !== 'sealed') {
      return; // a bid package sealed on the server: the plain streaming POST
    }
    var file = form.elements.file && form.elements.file.files[0];
    if (!file) {
      return; // the browser or the server says that a file is missing
    }
    event.preventDefault();
    if (!busy) {
      send(file);
    }
  });
}());
