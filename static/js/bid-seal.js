/*
 * Sunbid: a bid package (bid.zip) built and sealed with age in the bidder's own browser.
 *
 * A library without any page of its own: it touches no DOM and attaches itself as window.SunbidSeal.  It needs
 * the vendored bundle static/vendor/age-encryption/age.min.js (window.sunbidAge: typage's age encrypter and the
 * incremental SHA-256 of @noble/hashes) loaded before it.
 *
 *   packBid(form, files, out, onProgress)   the same bytes `sunbid bid pack` writes for the same inputs
 *                                           (tender/bidpackage.py: bid.json first, then the files sorted by
 *                                           name, stored, fixed metadata, CPython zipfile's version fields and
 *                                           ZIP64 rules); each file is read twice, hashed both times, and a
 *                                           file that changed in between is refused
 *   seal(blob, recipients, out, onProgress) binary age v1 to one or more X25519 recipients (age1…), streaming
 *   sha256(blob, onProgress)                streaming SHA-256 (hex)
 *   checkPrice(text), capitalYuan(price)    the price as bid.json writes it, and in Chinese capital numerals
 *                                           (the twin of core.money.capital_yuan)
 *   supported(), missingFeatures(), opfsAvailable(), openOpfsFile(name)
 *
 * Every output goes to a sink `out`: an object with write(Uint8Array) returning a promise (an OPFS
 * FileSystemWritableFileStream, or the writer of any WritableStream: stream.getWriter()).  Data is read and written in
 * pieces of at most 1 MiB into arrays that are used again, so memory stays flat whatever the size: a sink that
 * keeps what it is given copies it, since the array is filled again once its write promise has settled.  The sink
 * is neither closed nor aborted here: on success the caller closes it, on a refusal it discards what was written.
 * Refusals are SealError objects with a stable `code` and `params` (the form page translates them).
 */
(function (root) {
  'use strict';

  var PIECE = 1 << 20;
  var FORMAT = 'sunbid-bid/1';
  var FORM_NAME = 'bid.json';
  var MAX_FILES = 1000;
  var MAX_FORM_BYTES = 1 << 20;
  var MAX_LOT = 9999;
  var MAX_DAYS = 36500;
  var MAX_NAME = 1024;
  var MAX_NAME_PART = 255;
  var MAX_BIDDER_NAME = 200;
  var MAX_SIZE = 9007199254740991; // 2^53 - 1
  var PROJECT_CODE = /^[A-Za-z0-9][A-Za-z0-9_.\-]{2,39}$/;
  var CREATED_AT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,6})?(Z|[+-]([0-9]{2}):([0-9]{2}))$/;
  var UNSAFE_CHAR = /[\p{C}\p{Zl}\p{Zp}]/u; // Python: unicodedata category C* (control, format, ...), Zl, Zp
  var X25519_RECIPIENT = /^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/;
  var CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var MAX_YUAN_DIGITS = 14; // 10^13 yuan at most, as core.money.MAX_YUAN

  function SealError(code, params) {
    var e = new Error(code + (params ? ' ' + JSON.stringify(params) : ''));
    e.name = 'SealError';
    e.code = code;
    e.params = params || {};
    return e;
  }

  function age() {
    if (!root.sunbidAge) {
      throw SealError('unsupported', { missing: ['age'] });
    }
    return root.sunbidAge;
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return s;
  }

  // ------------------------------------------------------------------ CRC-32 (ZIP, polynomial 0xEDB88320)
  // Eight tables: eight bytes are folded in per step ("slicing by 8").

  var CRC_TABLES = (function () {
    var t = new Int32Array(8 * 256);
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) {
        c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
      }
      t[n] = c;
    }
    for (n = 0; n < 256; n++) {
      c = t[n];
      for (k = 1; k < 8; k++) {
        c = t[c & 0xFF] ^ (c >>> 8);
        t[k * 256 + n] = c;
      }
    }
    return t;
  })();

  function crc32(crc, bytes) {
    var t = CRC_TABLES, c = ~crc, i = 0, n = bytes.length, end8 = n - (n & 7);
    for (; i < end8; i += 8) {
      var lo = c ^ (bytes[i] | bytes[i + 1] << 8 | bytes[i + 2] << 16 | bytes[i + 3] << 24);
      c = t[1792 + (lo & 0xFF)] ^ t[1536 + (lo >>> 8 & 0xFF)] ^ t[1280 + (lo >>> 16 & 0xFF)] ^ t[1024 + (lo >>> 24)] ^
        t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
    }
    for (; i < n; i++) {
      c = t[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8);
    }
    return ~c >>> 0;
  }

  // ------------------------------------------------------------------ reading and writing in pieces

  function bytesOf(value) {
    if (value instanceof Uint8Array) {
      return value;
    }
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    return new Uint8Array(value);
  }

  // A reader of the blob's bytes: {read(), release()}.  A byte stream (Blob.stream() in current browsers) is read
  // into arrays of our own ("BYOB"), which keeps the renderer's memory flat: the default reader hands out a new
  // array for every chunk, which is garbage the moment it is used.  `reuse`: read() may fill the array it
  // returned last time again (the caller is done with it by then); otherwise every read gets a new one.
  function byteReader(blob, reuse) {
    var stream = blob.stream(), byob = null, buffer = null;
    try {
      byob = stream.getReader({ mode: 'byob' });
    } catch (notBytes) {
      byob = null; // a stream of chunks (a Blob-like of another kind): the default reader
    }
    var reader = byob || stream.getReader();
    return {
      read: async function () {
        if (!byob) {
          var next = await reader.read();
          return next.done ? null : bytesOf(next.value);
        }
        var view = await byob.read(new Uint8Array(reuse && buffer ? buffer : new ArrayBuffer(PIECE)));
        if (view.done) {
          return null;
        }
        buffer = view.value.buffer;
        return view.value;
      },
      cancel: function (reason) {
        return reader.cancel(reason);
      },
      release: function () {
        try {
          reader.releaseLock();
        } catch (ignored) {
          // the stream is errored or already released
        }
      },
    };
  }

  // Calls each(bytes) for every piece of the blob, in order (a Blob, a File, or anything with stream()); each
  // piece is at most PIECE bytes and is not kept by `each` once its promise has settled.
  async function readPieces(blob, each) {
    var reader = byteReader(blob, true);
    try {
      for (;;) {
        var bytes = await reader.read();
        if (bytes === null) {
          return;
        }
        for (var at = 0; at < bytes.length; at += PIECE) {
          await each(at === 0 && bytes.length <= PIECE ? bytes : bytes.subarray(at, at + PIECE));
        }
      }
    } finally {
      reader.release();
    }
  }

  function writerOf(out) {
    if (out && typeof out.write === 'function') {
      return out;
    }
    throw new TypeError('the output needs write(bytes): pass a FileSystemWritableFileStream or stream.getWriter()');
  }

  // What is written goes to the sink in pieces of PIECE bytes, counted and hashed (SHA-256) on the way.
  function Output(out) {
    var writer = writerOf(out);
    var hash = age().sha256.create();
    var buffer = new Uint8Array(PIECE);
    var used = 0;
    var self = { size: 0 };

    self.put = async function (bytes) {
      hash.update(bytes);
      self.size += bytes.length;
      while (bytes.length) {
        var n = Math.min(PIECE - used, bytes.length);
        buffer.set(n === bytes.length ? bytes : bytes.subarray(0, n), used);
        used += n;
        bytes = bytes.subarray(n);
        if (used === PIECE) {
          used = 0;
          await writer.write(buffer); // filled again only once the sink is done with it
        }
      }
    };

    self.finish = async function () {
      if (used) {
        var rest = buffer.subarray(0, used);
        buffer = null;
        used = 0;
        await writer.write(rest);
      }
      return hex(hash.digest());
    };
    return self;
  }

  function progress(onProgress, info) {
    if (typeof onProgress === 'function') {
      onProgress(info);
    }
  }

  // ------------------------------------------------------------------ SHA-256 of a blob

  async function sha256(blob, onProgress) {
    var hash = age().sha256.create();
    var done = 0, total = blob.size;
    await readPieces(blob, function (bytes) {
      hash.update(bytes);
      done += bytes.length;
      progress(onProgress, { phase: 'hash', done: done, total: total });
    });
    return hex(hash.digest());
  }

  // ------------------------------------------------------------------ the price

  // The price as bid.json writes it ("1234567.80"), from what a person typed: digits (full-width ones too), at
  // most two decimals, more than zero, at most 10^13 yuan, no thousands separators; a leading ¥ is allowed.
  // {value: canonical} or {error: code}.
  function checkPrice(text) {
    if (typeof text !== 'string') {
      return { error: 'price_empty' };
    }
    var raw = text.normalize('NFKC').trim();
    if (raw.charAt(0) === '¥') {
      raw = raw.slice(1).trim();
    }
    if (!raw) {
      return { error: 'price_empty' };
    }
    if (/[0-9][,'\u2019_\s][0-9]/.test(raw)) {
      return { error: 'price_separators' };
    }
    var m = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/.exec(raw);
    if (!m) {
      return { error: 'price_not_number' };
    }
    var whole = m[2].replace(/^0+(?=[0-9])/, '');
    var decimals = m[3] || '';
    var zero = /^0+$/.test(whole) && /^0*$/.test(decimals);
    if (m[1] === '-' && !zero) {
      return { error: 'price_negative' };
    }
    if (decimals.length > 2) {
      return { error: 'price_decimals' };
    }
    if (whole.length > MAX_YUAN_DIGITS || (whole.length === MAX_YUAN_DIGITS && (whole !== '10000000000000' || /[1-9]/.test(decimals)))) {
      return { error: 'price_too_large' };
    }
    if (zero) {
      return { error: 'price_zero' };
    }
    return { value: whole + '.' + (decimals + '00').slice(0, 2) };
  }

  // ------------------------------------------------------------------ Chinese capital numerals (人民币大写)
  // The twin of core.money.capital_yuan (its docstring gives the rules); tests compare the two.

  var CAPITAL_DIGITS = '零壹贰叁肆伍陆柒捌玖';

  function capitalGroup(digits) { // 1 to 4 digits, not all zero: 仟佰拾 with one 零 for a run of zeros inside
    var units = ['仟', '佰', '拾', ''], padded = ('0000' + digits).slice(-4), out = '', started = false, zero = false;
    for (var i = 0; i < 4; i++) {
      var d = padded.charCodeAt(i) - 48;
      if (d === 0) {
        zero = started;
      } else {
        if (zero) {
          out += '零';
          zero = false;
        }
        out += CAPITAL_DIGITS[d] + units[i];
        started = true;
      }
    }
    return out;
  }

  function capitalWhole(digits) { // a whole number without leading zeros, not zero
    var unit = digits.length > 8 ? 8 : digits.length > 4 ? 4 : 0;
    if (!unit) {
      return capitalGroup(digits);
    }
    var high = digits.slice(0, digits.length - unit), low = digits.slice(digits.length - unit).replace(/^0+/, '');
    var out = capitalWhole(high) + (unit === 8 ? '亿' : '万');
    if (low) {
      out += (low.length < unit ? '零' : '') + capitalWhole(low);
    }
    return out;
  }

  function capitalYuan(price) {
    var m = /^([0-9]+)(?:\.([0-9]{1,2}))?$/.exec(typeof price === 'string' ? price : '');
    if (!m) {
      throw SealError('price_not_number');
    }
    var whole = m[1].replace(/^0+/, ''), decimals = ((m[2] || '') + '00').slice(0, 2);
    if (whole.length > 16) {
      throw SealError('price_too_large');
    }
    var jiao = decimals.charCodeAt(0) - 48, fen = decimals.charCodeAt(1) - 48;
    if (!whole && !jiao && !fen) {
      return '零元整';
    }
    var out = whole ? capitalWhole(whole) + '元' : '';
    if (jiao) {
      out += (whole && whole.slice(-1) === '0' ? '零' : '') + CAPITAL_DIGITS[jiao] + '角';
    } else if (fen && whole) {
      out += '零';
    }
    return out + (fen ? CAPITAL_DIGITS[fen] + '分' : '整');
  }

  // ------------------------------------------------------------------ the declared form

  function unsafeText(text) {
    return UNSAFE_CHAR.test(text);
  }

  function codePoints(text) {
    return Array.from(text).length;
  }

  function bad(field) {
    return SealError('bad_form', { field: field });
  }

  function creditCode(value) {
    if (typeof value !== 'string') {
      throw bad('bidder.credit_code');
    }
    var code = value.normalize('NFKC').trim().toUpperCase();
    if (code.length !== 18) {
      throw bad('bidder.credit_code');
    }
    var total = 0, weight = 1; // GB 32100-2015: weights 3^i mod 31
    for (var i = 0; i < 18; i++) {
      if (CREDIT_ALPHABET.indexOf(code[i]) < 0) {
        throw bad('bidder.credit_code');
      }
    }
    for (i = 0; i < 17; i++) {
      total += CREDIT_ALPHABET.indexOf(code[i]) * weight;
      weight = weight * 3 % 31;
    }
    if (CREDIT_ALPHABET[(31 - total % 31) % 31] !== code[17]) {
      throw bad('bidder.credit_code');
    }
    return code;
  }

  function wholeNumber(value, field, lo, hi) {
    var n = typeof value === 'string' && /^[0-9]{1,6}$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) {
      throw bad(field);
    }
    return n;
  }

  function daysIn(year, month) {
    return [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31,
      30, 31][month - 1];
  }

  function createdAt(value) {
    var m = typeof value === 'string' ? CREATED_AT.exec(value) : null;
    if (!m) {
      throw bad('created_at');
    }
    var y = +m[1], mo = +m[2], d = +m[3];
    var ok = y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && +m[4] < 24 && +m[5] < 60 &&
      +m[6] < 60 && (m[8] === 'Z' || (+m[9] < 24 && +m[10] < 60));
    if (!ok) {
      throw bad('created_at');
    }
    return value;
  }

  // The head of bid.json (everything but "files" and "created_at"), checked as tender.bidpackage checks it.
  function formHead(form) {
    if (!form || typeof form !== 'object') {
      throw bad('bid.json');
    }
    if (typeof form.tender !== 'string' || !PROJECT_CODE.test(form.tender)) {
      throw bad('tender');
    }
    var lot = wholeNumber(form.lot, 'lot', 1, MAX_LOT);
    var bidder = form.bidder || {};
    var name = bidder.name;
    if (typeof name !== 'string' || codePoints(name) < 1 || codePoints(name) > MAX_BIDDER_NAME || !name.trim() ||
        unsafeText(name)) {
      throw bad('bidder.name');
    }
    var code = creditCode(bidder.credit_code);
    var price = checkPrice(typeof form.price === 'string' ? form.price : String(form.price == null ? '' : form.price));
    if (price.error) {
      throw SealError(price.error, { field: 'price' });
    }
    return {
      format: FORMAT, tender: form.tender, lot: lot, bidder: { name: name, credit_code: code }, price: price.value,
      currency: 'CNY', duration_days: wholeNumber(form.duration_days, 'duration_days', 1, MAX_DAYS),
      validity_days: wholeNumber(form.validity_days, 'validity_days', 1, MAX_DAYS),
    };
  }

  // ------------------------------------------------------------------ file names

  function safeName(name) {
    if (name.length === 0 || codePoints(name) > MAX_NAME || name === FORM_NAME) {
      return false;
    }
    if (name.indexOf('\\') >= 0 || name.indexOf(':') >= 0 || unsafeText(name)) {
      return false;
    }
    return name.split('/').every(function (part) {
      return part !== '' && part !== '.' && part !== '..' && codePoints(part) <= MAX_NAME_PART;
    });
  }

  function nameKey(name) { // close to Python's casefold() of the NFC name
    return name.normalize('NFC').toUpperCase().toLowerCase();
  }

  // Python sorts str by code point; JavaScript's < compares UTF-16 units, which differs past U+FFFF.
  function byCodePoint(a, b) {
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var x = a.codePointAt(i), y = b.codePointAt(j);
      if (x !== y) {
        return x < y ? -1 : 1;
      }
      i += x > 0xFFFF ? 2 : 1;
      j += y > 0xFFFF ? 2 : 1;
    }
    return i < a.length ? 1 : j < b.length ? -1 : 0;
  }

  function checkFiles(files) {
    if (!Array.isArray(files) || files.length < 1 || files.length > MAX_FILES) {
      throw SealError('bad_files', { count: Array.isArray(files) ? files.length : 0, max: MAX_FILES });
    }
    var seen = new Set();
    var list = files.map(function (item) {
      var name = item && typeof item.name === 'string' ? item.name.normalize('NFC') : '';
      if (!safeName(name)) {
        throw SealError('bad_name', { name: item && item.name });
      }
      if (seen.has(nameKey(name))) {
        throw SealError('duplicate_name', { name: name });
      }
      seen.add(nameKey(name));
      if (!item.file || typeof item.file.stream !== 'function' || typeof item.file.size !== 'number') {
        throw new TypeError('each file needs a Blob (or anything with size and stream())');
      }
      return { name: name, file: item.file };
    });
    return list.sort(function (a, b) {
      return byCodePoint(a.name, b.name);
    });
  }

  // ------------------------------------------------------------------ ZIP records, as CPython's zipfile writes them
  // (a seekable output, sizes given up front: no data descriptor; ZIP64 extra fields only where zipfile puts them)

  var ZIP64_LIMIT = 2147483647; // (1 << 31) - 1
  var FILECOUNT_LIMIT = 65535;
  var DOS_DATE = (1980 - 1980) << 9 | 1 << 5 | 1; // 1980-01-01
  var DOS_TIME = 0; // 00:00:00
  var UNIX = 3;
  var REGULAR_644 = 0x81A40000; // (S_IFREG | 0o644) << 16
  var UTF8_FLAG = 0x800;

  function Record(size) {
    var bytes = new Uint8Array(size), view = new DataView(bytes.buffer), at = 0;
    return {
      bytes: bytes,
      u8: function (v) { view.setUint8(at, v); at += 1; },
      u16: function (v) { view.setUint16(at, v, true); at += 2; },
      u32: function (v) { view.setUint32(at, v >>> 0, true); at += 4; },
      u64: function (v) {
        view.setUint32(at, v % 4294967296, true);
        view.setUint32(at + 4, Math.floor(v / 4294967296), true);
        at += 8;
      },
      raw: function (b) { bytes.set(b, at); at += b.length; },
    };
  }

  // One entry: {nameBytes, utf8, size, crc, offset}; zipfile decides ZIP64 for the local header from the size
  // given up front (size * 1.05 > ZIP64_LIMIT, compressed data may grow) and raises the entry's versions to 45.
  function zipEntry(name, size, crc, offset) {
    var ascii = /^[\x00-\x7F]*$/.test(name);
    var e = { nameBytes: new TextEncoder().encode(name), utf8: !ascii, size: size, crc: crc, offset: offset };
    e.localZip64 = size * 1.05 > ZIP64_LIMIT;
    e.version = e.localZip64 ? 45 : 20;
    return e;
  }

  function localHeader(e) {
    var r = Record(30 + e.nameBytes.length + (e.localZip64 ? 20 : 0));
    r.u32(0x04034B50);
    r.u8(e.version); r.u8(0);
    r.u16(e.utf8 ? UTF8_FLAG : 0);
    r.u16(0); // stored
    r.u16(DOS_TIME); r.u16(DOS_DATE);
    r.u32(e.crc);
    r.u32(e.localZip64 ? 0xFFFFFFFF : e.size); // compressed size
    r.u32(e.localZip64 ? 0xFFFFFFFF : e.size);
    r.u16(e.nameBytes.length);
    r.u16(e.localZip64 ? 20 : 0);
    r.raw(e.nameBytes);
    if (e.localZip64) {
      r.u16(1); r.u16(16); r.u64(e.size); r.u64(e.size);
    }
    return r.bytes;
  }

  function centralRecord(e) {
    var extra = [];
    if (e.size > ZIP64_LIMIT) {
      extra.push(e.size, e.size);
    }
    if (e.offset > ZIP64_LIMIT) {
      extra.push(e.offset);
    }
    var version = Math.max(e.version, extra.length ? 45 : 0), extraLength = extra.length ? 4 + 8 * extra.length : 0;
    var r = Record(46 + e.nameBytes.length + extraLength);
    r.u32(0x02014B50);
    r.u8(version); r.u8(UNIX);
    r.u8(version); r.u8(0);
    r.u16(e.utf8 ? UTF8_FLAG : 0);
    r.u16(0);
    r.u16(DOS_TIME); r.u16(DOS_DATE);
    r.u32(e.crc);
    r.u32(e.size > ZIP64_LIMIT ? 0xFFFFFFFF : e.size);
    r.u32(e.size > ZIP64_LIMIT ? 0xFFFFFFFF : e.size);
    r.u16(e.nameBytes.length);
    r.u16(extraLength);
    r.u16(0); // comment
    r.u16(0); // disk
    r.u16(0); // internal attributes
    r.u32(REGULAR_644);
    r.u32(e.offset > ZIP64_LIMIT ? 0xFFFFFFFF : e.offset);
    r.raw(e.nameBytes);
    if (extra.length) {
      r.u16(1); r.u16(8 * extra.length);
      extra.forEach(r.u64);
    }
    return r.bytes;
  }

  // The end records after a central directory of `size` bytes at `offset` holding `count` entries.
  function endRecords(count, offset, size) {
    var zip64 = count > FILECOUNT_LIMIT || offset > ZIP64_LIMIT || size > ZIP64_LIMIT;
    var r = Record(22 + (zip64 ? 56 + 20 : 0));
    if (zip64) {
      r.u32(0x06064B50);
      r.u64(44); r.u16(45); r.u16(45); r.u32(0); r.u32(0);
      r.u64(count); r.u64(count); r.u64(size); r.u64(offset);
      r.u32(0x07064B50);
      r.u32(0); r.u64(offset + size); r.u32(1);
    }
    r.u32(0x06054B50);
    r.u16(0); r.u16(0);
    r.u16(Math.min(count, 0xFFFF)); r.u16(Math.min(count, 0xFFFF));
    r.u32(Math.min(size, 0xFFFFFFFF)); r.u32(Math.min(offset, 0xFFFFFFFF));
    r.u16(0);
    return r.bytes;
  }

  // ------------------------------------------------------------------ packing

  async function packBid(form, files, out, onProgress) {
    var head = formHead(form);
    var createdAtValue = form.created_at == null ? null : createdAt(form.created_at);
    var list = checkFiles(files);
    var total = list.reduce(function (sum, f) { return sum + f.file.size; }, 0), done = 0;

    for (var i = 0; i < list.length; i++) { // first reading: SHA-256, CRC-32 and size of every file
      var f = list[i], hash = age().sha256.create(), crc = 0, size = 0;
      try {
        await readPieces(f.file, function (bytes) {
          hash.update(bytes);
          crc = crc32(crc, bytes);
          size += bytes.length;
          done += bytes.length;
          progress(onProgress, { phase: 'hash', file: f.name, done: done, total: total });
        });
      } catch (e) {
        throw SealError('file_unreadable', { name: f.name, reason: String(e && e.name || e) });
      }
      if (size > MAX_SIZE) {
        throw SealError('file_too_large', { name: f.name });
      }
      f.sha256 = hex(hash.digest());
      f.crc = crc;
      f.size = size;
    }

    var obj = head;
    obj.files = list.map(function (f) { return { name: f.name, sha256: f.sha256, size: f.size }; });
    if (createdAtValue !== null) {
      obj.created_at = createdAtValue;
    }
    // json.dumps(ensure_ascii=False, indent=2) + "\n": the same layout and escapes for these strings and integers
    var json = new TextEncoder().encode(JSON.stringify(obj, null, 2) + '\n');
    if (json.length > MAX_FORM_BYTES) {
      throw SealError('form_too_large', { max: MAX_FORM_BYTES });
    }

    var output = Output(out), entries = [];
    var first = zipEntry(FORM_NAME, json.length, crc32(0, json), 0);
    entries.push(first);
    await output.put(localHeader(first));
    await output.put(json);
    done = 0;
    for (i = 0; i < list.length; i++) { // second reading: copied into the ZIP, hashed again
      f = list[i];
      var entry = zipEntry(f.name, f.size, f.crc, output.size);
      entries.push(entry);
      await output.put(localHeader(entry));
      var again = age().sha256.create(), copied = 0, readError = null;
      try {
        await readPieces(f.file, async function (bytes) {
          copied += bytes.length;
          if (copied > f.size) {
            throw SealError('file_changed', { name: f.name });
          }
          again.update(bytes);
          await output.put(bytes);
          done += bytes.length;
          progress(onProgress, { phase: 'write', file: f.name, done: done, total: total });
        });
      } catch (e) {
        readError = e;
      }
      if (readError && readError.name === 'SealError') {
        throw readError;
      }
      if (readError || copied !== f.size || hex(again.digest()) !== f.sha256) {
        throw SealError('file_changed', { name: f.name });
      }
    }
    var start = output.size;
    for (i = 0; i < entries.length; i++) {
      await output.put(centralRecord(entries[i]));
    }
    await output.put(endRecords(entries.length, start, output.size - start));
    var digest = await output.finish();
    return { form: obj, json: new TextDecoder().decode(json), sha256: digest, size: output.size };
  }

  // ------------------------------------------------------------------ sealing

  async function seal(input, recipients, out, onProgress) {
    if (typeof recipients === 'string' || !Array.isArray(recipients) || !recipients.length) {
      throw SealError('invalid_recipient', { recipient: String(recipients) });
    }
    var lib = age(), encrypter = new lib.Encrypter();
    recipients.forEach(function (r) {
      var text = typeof r === 'string' ? r.trim().toLowerCase() : '';
      if (!X25519_RECIPIENT.test(text)) {
        throw SealError('invalid_recipient', { recipient: String(r) });
      }
      try {
        encrypter.addRecipient(text);
      } catch (e) {
        throw SealError('invalid_recipient', { recipient: text });
      }
    });
    var reader = byteReader(input, false), done = 0, total = input.size; // typage may queue what it is given
    var plain = new ReadableStream({
      pull: async function (controller) {
        var bytes;
        try {
          bytes = await reader.read();
        } catch (e) {
          controller.error(SealError('file_unreadable', { reason: String(e && e.name || e) }));
          return;
        }
        if (bytes === null) {
          controller.close();
          return;
        }
        done += bytes.length;
        controller.enqueue(bytes);
        progress(onProgress, { phase: 'seal', done: done, total: total });
      },
      cancel: function (reason) {
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    var sealed = (await encrypter.encrypt(plain)).getReader();
    var output = Output(out);
    for (;;) {
      var next = await sealed.read();
      if (next.done) {
        break;
      }
      await output.put(bytesOf(next.value));
    }
    var digest = await output.finish();
    return { sha256: digest, size: output.size };
  }

  // ------------------------------------------------------------------ what the browser must have

  function opfsAvailable() {
    return !!(root.navigator && root.navigator.storage && typeof root.navigator.storage.getDirectory === 'function' &&
      typeof root.FileSystemFileHandle === 'function' &&
      typeof root.FileSystemFileHandle.prototype.createWritable === 'function');
  }

  function missingFeatures() {
    var missing = [];
    if (typeof root.ReadableStream !== 'function' || typeof root.WritableStream !== 'function' ||
        typeof root.TransformStream !== 'function' || typeof root.Blob !== 'function' ||
        typeof root.Blob.prototype.stream !== 'function' || typeof root.TextEncoder !== 'function') {
      missing.push('streams');
    }
    if (!opfsAvailable()) {
      missing.push('opfs');
    }
    if (!root.crypto || typeof root.crypto.getRandomValues !== 'function') {
      missing.push('random');
    }
    if (!root.sunbidAge || typeof root.sunbidAge.Encrypter !== 'function') {
      missing.push('age');
    }
    return missing;
  }

  function supported() {
    return missingFeatures().length === 0;
  }

  // A new file in the origin's private file system (replacing one of the same name), open for writing:
  // {writable (the sink), close(), abort(), file() → File, remove()}.
  async function openOpfsFile(name) {
    var dir = await root.navigator.storage.getDirectory();
    var handle = await dir.getFileHandle(name, { create: true });
    var writable = await handle.createWritable({ keepExistingData: false });
    return {
      name: name,
      writable: writable,
      close: function () { return writable.close(); },
      abort: function () { return writable.abort(); },
      file: function () { return handle.getFile(); },
      remove: function () { return dir.removeEntry(name); },
    };
  }

  root.SunbidSeal = {
    packBid: packBid,
    seal: seal,
    sha256: sha256,
    checkPrice: checkPrice,
    capitalYuan: capitalYuan,
    supported: supported,
    missingFeatures: missingFeatures,
    opfsAvailable: opfsAvailable,
    openOpfsFile: openOpfsFile,
    crc32: crc32,
    _zip: { entry: zipEntry, localHeader: localHeader, centralRecord: centralRecord, endRecords: endRecords,
      byCodePoint: byCodePoint },
  };
})(typeof self !== 'undefined' ? self : this);
