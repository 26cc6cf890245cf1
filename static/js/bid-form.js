/*
 * Sunbid: the bid form of a tender and lot, bidding with a browser alone (templates/tender/bid_form.html).
 *
 * The bidder types the price, the duration and the validity and chooses the files (one per document the tender
 * requires, each checked against its accepted types and size limit, and any others).  On submit the page
 *   1. builds bid.zip with SunbidSeal.packBid (static/js/bid-seal.js: the bytes `sunbid bid pack` writes for the
 *      same inputs), a required document as "<its name>/<file name>", the others at the top;
 *   2. seals it here with SunbidSeal.seal to the tender's opening key (the form's data-recipients), and to the
 *      bidder's own age recipient when given, as the platform seals a package it receives;
 *   3. sends the sealed file with the vendored tus client in resumable pieces to the bid uploads
 *      (data-tus-endpoint), confirming the tender and lot it packed, so the platform's checks apply unchanged;
 *   4. shows the receipt: when the bid was received, the SHA-256 of the package and of the sealed file, and
 *      links to save both files (they stay in the origin's private file system, OPFS) and the signed receipt.
 * The platform never receives the package.  Texts come translated from the page (#bid-form-text).
 */
(function () {
  'use strict';

  var form = document.getElementById('bid-browser-form');
  var textBlock = document.getElementById('bid-form-text');
  if (!form || !textBlock) {
    return;
  }
  var text = JSON.parse(textBlock.textContent);
  var MB = 1024 * 1024;
  var data = form.dataset;
  var submit = document.getElementById('bid-submit');
  var errorBox = document.getElementById('bid-form-error');
  var progressBox = document.getElementById('bid-progress');
  var meter = progressBox.querySelector('.progress');
  var bar = progressBox.querySelector('.progress-bar');
  var statusLine = progressBox.querySelector('[role="status"]');
  var receiptBox = document.getElementById('bid-receipt');
  var priceInput = document.getElementById('bid-price');
  var capital = document.getElementById('bid-capital');
  var busy = false;
  var urls = [];

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function missing() {
    var out = window.SunbidSeal ? window.SunbidSeal.missingFeatures().slice() : ['seal'];
    if (!window.tus || !window.tus.isSupported) {
      out.push('tus');
    }
    return out;
  }

  var lacking = missing();
  if (lacking.length) {
    var box = document.getElementById('bid-missing');
    var first = box.querySelector('p');
    first.textContent = fill(first.textContent, { missing: lacking.join(', ') });
    box.hidden = false;
    submit.disabled = true;
    return;
  }
  var Seal = window.SunbidSeal;

  // ------------------------------------------------------------------ checks before sealing

  function showCapital() {
    var result = Seal.checkPrice(priceInput.value);
    capital.classList.toggle('text-danger', !!result.error && priceInput.value.trim() !== '');
    if (result.value) {
      capital.textContent = '人民币 ' + Seal.capitalYuan(result.value);
    } else {
      capital.textContent = priceInput.value.trim() === '' ? '' : text[result.error] || result.error;
    }
  }

  priceInput.addEventListener('input', showCapital);
  showCapital();

  function days(input) {
    var value = input.value.normalize('NFKC').trim();
    return /^[0-9]{1,5}$/.test(value) && +value >= 1 && +value <= 36500 ? +value : null;
  }

  function extension(name) {
    var dot = name.lastIndexOf('.');
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  }

  // [{name, file}] for packBid, or the list of what is wrong (each said in full)
  function collect() {
    var problems = [], files = [];
    var price = Seal.checkPrice(priceInput.value);
    if (price.error) {
      problems.push(text[price.error] || price.error);
    }
    if (days(form.elements.duration_days) === null) {
      problems.push(text.duration_days);
    }
    if (days(form.elements.validity_days) === null) {
      problems.push(text.validity_days);
    }
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll('[data-required-doc]'), function (input) {
      var name = input.dataset.requiredDoc;
      var types = (input.dataset.types || '').split(',').filter(Boolean);
      var maxMb = Number(input.dataset.maxMb) || 0;
      var file = input.files[0];
      if (!file) {
        problems.push(fill(text.missing_doc, { name: name }));
        return;
      }
      if (types.length && types.indexOf(extension(file.name)) < 0) {
        problems.push(fill(text.wrong_type, { name: name, file: file.name, types: types.join(', ') }));
      }
      if (maxMb && file.size > maxMb * MB) {
        problems.push(fill(text.too_big, { name: name, file: file.name, mb: maxMb }));
      }
      total += file.size;
      files.push({ name: name + '/' + file.name, file: file });
    });
    Array.prototype.forEach.call(document.getElementById('bid-other').files, function (file) {
      total += file.size;
      files.push({ name: file.name, file: file });
    });
    var limit = Number(data.limitMb) || 0;
    if (limit && total > limit * MB) {
      problems.push(fill(text.over_limit, { mb: limit }));
    }
    if (!files.length && !problems.length) {
      problems.push(text.no_files);
    }
    return { problems: problems, files: files, price: price.value };
  }

  // ------------------------------------------------------------------ what the page shows

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
    Array.prototype.forEach.call(form.querySelectorAll('input, button'), function (el) {
      if (el.type !== 'hidden') {
        el.disabled = on;
      }
    });
    bar.classList.toggle('progress-bar-animated', on);
  }

  function showErrors(list) {
    errorBox.textContent = '';
    list.forEach(function (message) {
      var line = document.createElement('div');
      line.textContent = message;
      errorBox.append(line);
    });
    errorBox.hidden = false;
  }

  function fail(message) {
    setBusy(false);
    say('');
    showErrors([message]);
  }

  function sealMessage(error) {
    if (error && error.name === 'SealError') {
      var params = error.params || {};
      if (params.field === 'price' && text[error.code]) {
        return text[error.code];
      }
      if (text[error.code]) {
        return fill(text[error.code], { name: params.name || '', field: params.field || '' });
      }
      return fill(text.failed, { reason: error.code });
    }
    return fill(text.failed, { reason: String(error && error.message || error) });
  }

  function phase(template) {
    return function (p) {
      var percent = p.total ? Math.floor(p.done * 100 / p.total) : 100;
      showProgress(percent);
      say(fill(template, { percent: percent }));
    };
  }

  // The platform's refusal from its JSON error body; otherwise a lost connection or the bare status.
  function explain(error) {
    var response = error && error.originalResponse;
    if (!response || !response.getStatus()) {
      return text.lost;
    }
    try {
      var body = JSON.parse(response.getBody());
      if (body && body.error && body.error.code === 'deadline_passed') {
        return text.deadline_passed;
      }
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (ignored) {
      // not JSON: the status below
    }
    return fill(text.http, { status: response.getStatus() });
  }

  function shouldRetry(error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    var code = null;
    try {
      code = JSON.parse(response.getBody()).error.code;
    } catch (ignored) {
      // no JSON body: a lost connection or a bare status
    }
    // a 409 is retried only when it is the offset that differs (the client asks where the platform stands),
    // never for a refusal such as the deadline having passed
    var conflictRetried = status === 409 && (code === null || code === 'upload_offset_mismatch');
    var retry = (status < 400 || status >= 500 || conflictRetried || status === 423) && navigator.onLine !== false;
    if (retry) {
      say(text.retrying);
    }
    return retry;
  }

  function retryDelays() {
    try {
      var delays = JSON.parse(data.retryDelays || '');
      if (Array.isArray(delays)) {
        return delays;
      }
    } catch (ignored) {
      // the default below
    }
    return [0, 1000, 3000, 5000, 10000];
  }

  function fileLink(anchor, file, name) {
    var url = URL.createObjectURL(file);
    urls.push(url);
    anchor.href = url;
    anchor.download = name;
  }

  function showReceipt(bid, packed, sealed, zipFile, ageFile, base) {
    var title = receiptBox.querySelector('p');
    title.textContent = fill(title.dataset.template || (title.dataset.template = title.textContent),
                             { when: platformTime(bid.received_at) });
    receiptBox.querySelector('[data-field="package"]').textContent = packed.sha256;
    receiptBox.querySelector('[data-field="sealed"]').textContent = sealed.sha256;
    fileLink(receiptBox.querySelector('[data-field="save-package"]'), zipFile, base + '.zip');
    fileLink(receiptBox.querySelector('[data-field="save-sealed"]'), ageFile, base + '.age');
    receiptBox.querySelector('[data-field="receipt"]').href = '/bids/' + encodeURIComponent(bid.id) + '/receipt.json';
    receiptBox.dataset.bidId = bid.id;
    receiptBox.hidden = false;
  }

  // ------------------------------------------------------------------ pack, seal, send

  function upload(file) {
    return new Promise(function (resolve, reject) {
      var endpoint = data.tusEndpoint + '?lot=' + encodeURIComponent(data.lot) +
        '&confirm_tender=' + encodeURIComponent(data.tender) + '&confirm_lot=' + encodeURIComponent(data.lot);
      var up = new window.tus.Upload(file, {
        endpoint: endpoint,
        chunkSize: Number(data.chunkSize) || 8 * MB,
        retryDelays: retryDelays(),
        headers: { 'X-CSRFToken': form.elements.csrf_token.value },
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onShouldRetry: shouldRetry,
        onProgress: function (sent, total) {
          var percent = total ? Math.floor(sent * 100 / total) : 0;
          showProgress(percent);
          say(sent >= total ? text.finishing : fill(text.progress, {
            done: (sent / MB).toFixed(1), total: (total / MB).toFixed(1), percent: percent }));
        },
        onSuccess: function () {
          resolve(up.url);
        },
        onError: function (error) {
          reject({ upload: error });
        },
      });
      up.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          up.resumeFromPreviousUpload(previous[0]);
          say(text.resuming);
        } else {
          say(text.starting);
        }
        up.start();
      }, reject);
    });
  }

  async function run(found) {
    var base = 'bid-' + data.tender + '-' + data.lot;
    var bidForm = {
      tender: data.tender, lot: Number(data.lot), bidder: { name: data.bidderName, credit_code: data.creditCode },
      price: found.price, duration_days: days(form.elements.duration_days),
      validity_days: days(form.elements.validity_days),
    };
    var recipients = JSON.parse(data.recipients);
    var own = document.getElementById('bid-self').value.trim();
    if (own) {
      recipients.push(own);
    }
    var zip = await Seal.openOpfsFile(base + '.zip');
    var packed;
    try {
      packed = await Seal.packBid(bidForm, found.files, zip.writable, phase(text.packing));
      await zip.close();
    } catch (e) {
      await zip.abort().catch(function () {});
      throw e;
    }
    var zipFile = await zip.file();
    var age = await Seal.openOpfsFile(base + '.age');
    var sealed;
    try {
      sealed = await Seal.seal(zipFile, recipients, age.writable, phase(text.sealing));
      await age.close();
    } catch (e) {
      await age.abort().catch(function () {});
      throw e;
    }
    var ageFile = await age.file();
    showProgress(0);
    var address = await upload(ageFile);
    var answer = await fetch(address, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    var described = await answer.json();
    var bid = described.bid || {};
    progressBox.hidden = true;
    say('');
    setBusy(false);
    showReceipt(bid, packed, sealed, zipFile, ageFile, base);
    refreshBids();
  }

  // The list of the bidder's bids, as the page shows it now (the new bid current, the earlier one superseded).
  function refreshBids() {
    var list = document.getElementById('my-bids');
    return fetch(window.location.pathname + window.location.search, { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, 'text/html').getElementById('my-bids');
        if (fresh && list) {
          list.replaceWith(fresh);
        }
      })
      .catch(function () { /* the list stays as it was; a reload shows it */ });
  }

  // A time of the platform (ISO 8601) in the platform's zone, as the pages write times.
  function platformTime(iso) {
    try {
      var parts = new Intl.DateTimeFormat('en-GB', {
        timeZone: data.zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
        second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso));
      var get = function (type) {
        return parts.filter(function (p) { return p.type === type; })[0].value;
      };
      return get('year') + '-' + get('month') + '-' + get('day') + ' ' + get('hour') + ':' + get('minute') + ':' +
        get('second') + ' (' + data.zone + ')';
    } catch (ignored) {
      return iso;
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (busy) {
      return;
    }
    errorBox.hidden = true;
    receiptBox.hidden = true;
    var found = collect();
    if (found.problems.length) {
      showErrors(found.problems); // said before anything is packed or sealed
      return;
    }
    setBusy(true);
    showProgress(0);
    run(found).catch(function (error) {
      fail(error && error.upload ? explain(error.upload) : sealMessage(error));
    });
  });
}());
