// The part of Node.js and npm an Auth0 Action may use in callsign's sandbox, over the host
// functions of host.rs (which the engine's prelude captured before any script code ran).
// Evaluated lazily, on a script's first use of one of its globals or of `require` (most
// Actions use none, and evaluating this costs more than running them); returns the globals
// and the modules `require` knows.
(function (host) {
  "use strict";
  const stringify = JSON.stringify, parse = JSON.parse, freeze = Object.freeze;
  const toArray = (u8) => Array.prototype.slice.call(u8);

  // --- Buffer (the common subset), TextEncoder, TextDecoder ---------------------------------
  class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
      if (typeof value === "string") {
        return Buffer.fromBytes(host.decode(value, encodingOrOffset || "utf8"));
      }
      if (value instanceof ArrayBuffer) {
        return new Buffer(value, encodingOrOffset || 0, length === undefined ? value.byteLength - (encodingOrOffset || 0) : length);
      }
      if (ArrayBuffer.isView(value) || Array.isArray(value)) {
        const b = new Buffer(value.length);
        for (let i = 0; i < value.length; i++) b[i] = value[i] & 255;
        return b;
      }
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return Buffer.from(value.data);
      throw new TypeError("The first argument must be a string, Buffer, ArrayBuffer, Array or array-like object");
    }
    static fromBytes(bytes) {
      const b = new Buffer(bytes.length);
      for (let i = 0; i < bytes.length; i++) b[i] = bytes[i];
      return b;
    }
    static alloc(n, fill) {
      const b = new Buffer(n);
      if (fill !== undefined) b.fill(typeof fill === "number" ? fill : 0);
      return b;
    }
    static isBuffer(x) { return x instanceof Buffer; }
    static byteLength(s, enc) { return typeof s === "string" ? Buffer.from(s, enc).length : s.byteLength; }
    static concat(list, total) {
      const n = total === undefined ? list.reduce((a, b) => a + b.length, 0) : total;
      const out = Buffer.alloc(n);
      let at = 0;
      for (const b of list) { out.set(b.subarray(0, Math.max(0, n - at)), at); at += b.length; if (at >= n) break; }
      return out;
    }
    toString(enc, start, end) {
      const part = (start !== undefined || end !== undefined) ? this.subarray(start || 0, end === undefined ? this.length : end) : this;
      return host.encode(toArray(part), enc || "utf8");
    }
    toJSON() { return { type: "Buffer", data: toArray(this) }; }
    equals(other) {
      if (!(other instanceof Uint8Array) || other.length !== this.length) return false;
      for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
      return true;
    }
    slice(start, end) { return Buffer.fromBytes(toArray(this.subarray(start, end))); }
  }

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(s) { return new Uint8Array(host.decode(String(s === undefined ? "" : s), "utf8")); }
  }
  class TextDecoder {
    get encoding() { return "utf-8"; }
    decode(b) { return b === undefined ? "" : host.encode(toArray(b instanceof ArrayBuffer ? new Uint8Array(b) : b), "utf8"); }
  }

  // --- URLSearchParams ----------------------------------------------------------------------
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, "+");
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, " "));
  class URLSearchParams {
    constructor(init) {
      this._list = [];
      if (typeof init === "string") {
        for (const part of init.replace(/^\?/, "").split("&")) {
          if (!part) continue;
          const i = part.indexOf("=");
          this._list.push(i < 0 ? [dec(part), ""] : [dec(part.slice(0, i)), dec(part.slice(i + 1))]);
        }
      } else if (Array.isArray(init)) {
        for (const [k, v] of init) this._list.push([String(k), String(v)]);
      } else if (init && typeof init === "object") {
        for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
      }
    }
    append(k, v) { this._list.push([String(k), String(v)]); }
    set(k, v) { this.delete(k); this.append(k, v); }
    get(k) { const e = this._list.find((p) => p[0] === k); return e ? e[1] : null; }
    getAll(k) { return this._list.filter((p) => p[0] === k).map((p) => p[1]); }
    has(k) { return this._list.some((p) => p[0] === k); }
    delete(k) { this._list = this._list.filter((p) => p[0] !== k); }
    forEach(fn) { for (const [k, v] of this._list) fn(v, k, this); }
    entries() { return this._list.map((p) => [p[0], p[1]])[Symbol.iterator](); }
    keys() { return this._list.map((p) => p[0])[Symbol.iterator](); }
    values() { return this._list.map((p) => p[1])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => enc(k) + "=" + enc(v)).join("&"); }
  }

  class URL {
    constructor(input, base) {
      const p = parse(host.url(String(input), base === undefined || base === null ? null : String(base)));
      Object.assign(this, p);
      this.searchParams = new URLSearchParams(p.search);
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  // --- fetch, node-fetch, axios -------------------------------------------------------------
  const headerList = (h) => {
    const out = [];
    if (!h) return out;
    if (typeof h.forEach === "function" && !Array.isArray(h)) { h.forEach((v, k) => out.push([String(k), String(v)])); return out; }
    if (Array.isArray(h)) { for (const [k, v] of h) out.push([String(k), String(v)]); return out; }
    for (const k of Object.keys(h)) if (h[k] !== undefined) out.push([k, String(h[k])]);
    return out;
  };
  const bodyText = (b) => {
    if (b === undefined || b === null) return null;
    if (typeof b === "string") return b;
    if (b instanceof URLSearchParams) return b.toString();
    if (b instanceof Uint8Array) return host.encode(toArray(b), "utf8");
    return String(b);
  };
  // Headers (WHATWG): names compared case-insensitively, repeated values joined by ", ".
  class Headers {
    constructor(init) {
      this._map = new Map();
      for (const [k, v] of headerList(init)) this.append(k, v);
    }
    append(k, v) {
      const key = String(k).toLowerCase();
      const had = this._map.get(key);
      this._map.set(key, had === undefined ? String(v) : had + ", " + String(v));
    }
    set(k, v) { this._map.set(String(k).toLowerCase(), String(v)); }
    get(k) { const v = this._map.get(String(k).toLowerCase()); return v === undefined ? null : v; }
    has(k) { return this._map.has(String(k).toLowerCase()); }
    delete(k) { this._map.delete(String(k).toLowerCase()); }
    forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
    entries() { return [...this._map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))[Symbol.iterator](); }
    keys() { return [...this.entries()].map((e) => e[0])[Symbol.iterator](); }
    values() { return [...this.entries()].map((e) => e[1])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    // node-fetch v2's extension.
    raw() { const o = {}; for (const [k, v] of this.entries()) o[k] = v.split(", "); return o; }
  }
  const headerObject = (h) => { const o = {}; h.forEach((v, k) => { o[k] = v; }); return o; };
  async function fetch(input, init) {
    init = init || {};
    const url = typeof input === "string" ? input : (input && (input.href || input.url)) || String(input);
    const headers = headerList(init.headers);
    if (init.body instanceof URLSearchParams && !headers.some(([k]) => k.toLowerCase() === "content-type")) {
      headers.push(["content-type", "application/x-www-form-urlencoded;charset=UTF-8"]);
    }
    const r = parse(host.fetch(stringify({ url, method: init.method || "GET", headers, body: bodyText(init.body), redirect: init.redirect })));
    if (r.error !== undefined) throw new TypeError("fetch failed: " + r.error);
    const text = r.body;
    return freeze({
      ok: r.status >= 200 && r.status < 300,
      status: r.status,
      statusText: "",
      url: r.url,
      redirected: r.redirected,
      headers: new Headers(r.headers || []),
      text: async () => text,
      json: async () => parse(text),
      arrayBuffer: async () => new Uint8Array(host.decode(text, "utf8")).buffer,
    });
  }
  const nodeFetch = Object.assign((...a) => fetch(...a), { default: fetch, Headers });

  const axiosRequest = async (config) => {
    let url = config.url || "";
    if (config.baseURL && !/^https?:/i.test(url)) url = config.baseURL.replace(/\/$/, "") + "/" + url.replace(/^\//, "");
    if (config.params) url += (url.includes("?") ? "&" : "?") + new URLSearchParams(config.params).toString();
    const headers = headerList(config.headers);
    let body = config.data;
    if (body !== undefined && body !== null && typeof body === "object" && !(body instanceof URLSearchParams) && !(body instanceof Uint8Array)) {
      body = stringify(body);
      if (!headers.some(([k]) => k.toLowerCase() === "content-type")) headers.push(["content-type", "application/json"]);
    }
    const redirect = config.maxRedirects === 0 ? "manual" : "follow";
    const res = await fetch(url, { method: (config.method || "get").toUpperCase(), headers, body, redirect });
    const text = await res.text();
    let data = text;
    if (config.responseType !== "text") { try { data = parse(text); } catch (e) { data = text; } }
    const response = { data, status: res.status, statusText: "", headers: headerObject(res.headers), config };
    const valid = config.validateStatus || ((s) => s >= 200 && s < 300);
    if (!valid(res.status)) {
      const err = new Error("Request failed with status code " + res.status);
      err.response = response;
      err.isAxiosError = true;
      throw err;
    }
    return response;
  };
  const axios = (a, b) => axiosRequest(typeof a === "string" ? Object.assign({}, b, { url: a }) : a);
  for (const m of ["get", "delete", "head", "options"]) axios[m] = (url, config) => axiosRequest(Object.assign({}, config, { url, method: m }));
  for (const m of ["post", "put", "patch"]) axios[m] = (url, data, config) => axiosRequest(Object.assign({}, config, { url, method: m, data }));
  axios.request = axiosRequest;
  axios.create = (defaults) => {
    const inst = (a, b) => axios(Object.assign({}, defaults, typeof a === "string" ? Object.assign({}, b, { url: a }) : a));
    for (const m of ["get", "delete", "head", "options"]) inst[m] = (url, config) => axiosRequest(Object.assign({}, defaults, config, { url, method: m }));
    for (const m of ["post", "put", "patch"]) inst[m] = (url, data, config) => axiosRequest(Object.assign({}, defaults, config, { url, method: m, data }));
    return inst;
  };
  axios.default = axios;
  axios.isAxiosError = (e) => !!(e && e.isAxiosError);

  // --- request (the legacy module old Auth0 scripts use): request(options, callback) -----
  // callback(err, response, body); response has statusCode, headers and body. `json: true`
  // sends and parses JSON, `form` sends a urlencoded body, `qs` adds a query, `auth` sets
  // basic or bearer authorization.
  const requestModule = (() => {
    const run = (opts, cb) => {
      if (typeof opts === "string") opts = { url: opts };
      opts = Object.assign({}, opts);
      let url = String(opts.url || opts.uri || "");
      if (opts.baseUrl) url = opts.baseUrl.replace(/\/$/, "") + "/" + url.replace(/^\//, "");
      if (opts.qs) url += (url.includes("?") ? "&" : "?") + new URLSearchParams(opts.qs).toString();
      const headers = headerList(opts.headers);
      const hasType = () => headers.some(([k]) => k.toLowerCase() === "content-type");
      let body = opts.body;
      if (opts.form !== undefined) {
        body = typeof opts.form === "string" ? opts.form : new URLSearchParams(opts.form).toString();
        if (!hasType()) headers.push(["content-type", "application/x-www-form-urlencoded"]);
      } else if (opts.json !== undefined && opts.json !== false) {
        if (typeof opts.json === "object") body = opts.json;
        if (body !== undefined && typeof body !== "string") {
          body = stringify(body);
          if (!hasType()) headers.push(["content-type", "application/json"]);
        }
        if (!headers.some(([k]) => k.toLowerCase() === "accept")) headers.push(["accept", "application/json"]);
      }
      const a = opts.auth;
      if (a) {
        if (a.bearer) headers.push(["authorization", "Bearer " + a.bearer]);
        else headers.push(["authorization", "Basic " + Buffer.from(String(a.user || a.username || "") + ":" + String(a.pass || a.password || "")).toString("base64")]);
      }
      const done = typeof cb === "function" ? cb : () => {};
      fetch(url, { method: String(opts.method || "GET").toUpperCase(), headers, body, redirect: opts.followRedirect === false ? "manual" : "follow" })
        .then(async (res) => {
          let data = await res.text();
          if (opts.json) { try { data = data === "" ? undefined : parse(data); } catch (e) { /* as request: the text */ } }
          const response = { statusCode: res.status, statusMessage: "", headers: headerObject(res.headers), body: data, request: { uri: { href: url } } };
          done(null, response, data);
        }, (err) => done(new Error(String(err.message).replace(/^fetch failed: /, ""))));
      return undefined;
    };
    const request = (a, b, c) => {
      if (typeof b === "function") return run(a, b);
      return run(Object.assign({}, typeof a === "string" ? { url: a } : a, b), c);
    };
    const verb = (m) => (a, b, c) => {
      if (typeof b === "function") return run(Object.assign({}, typeof a === "string" ? { url: a } : a, { method: m }), b);
      return run(Object.assign({}, typeof a === "string" ? { url: a } : a, b, { method: m }), c);
    };
    for (const [name, m] of [["get", "GET"], ["post", "POST"], ["put", "PUT"], ["patch", "PATCH"], ["del", "DELETE"], ["delete", "DELETE"], ["head", "HEAD"]]) request[name] = verb(m);
    request.defaults = (d) => {
      const inst = (a, b, c) => request(Object.assign({}, d, typeof a === "string" ? { url: a } : a), b, c);
      for (const name of ["get", "post", "put", "patch", "del", "delete", "head"]) {
        inst[name] = (a, b, c) => request[name](Object.assign({}, d, typeof a === "string" ? { url: a } : a), b, c);
      }
      return inst;
    };
    return request;
  })();

  // --- bcrypt (hash, compare, genSalt; callbacks or promises, and the *Sync forms) ---------
  // A "salt" is its cost: hash(pw, genSalt(10)) and hash(pw, 10) are the same call here.
  const roundsOf = (salt) => (typeof salt === "number" ? salt : Number(String(salt).split("$")[2]) || 10);
  const settle = (fn, cb) => {
    let value, error = null;
    try { value = fn(); } catch (e) { error = e instanceof Error ? e : new Error(String(e)); }
    if (typeof cb === "function") { Promise.resolve().then(() => cb(error, value)); return undefined; }
    return error ? Promise.reject(error) : Promise.resolve(value);
  };
  const bcrypt = {
    hashSync: (pw, salt) => host.bcryptHash(String(pw), roundsOf(salt === undefined ? 10 : salt)),
    compareSync: (pw, hash) => host.bcryptCompare(String(pw), String(hash)),
    genSaltSync: (rounds) => (rounds === undefined ? 10 : Number(rounds)),
    hash: (pw, salt, cb) => settle(() => bcrypt.hashSync(pw, salt), cb),
    compare: (pw, hash, cb) => settle(() => bcrypt.compareSync(pw, hash), cb),
    genSalt: (rounds, cb) => {
      if (typeof rounds === "function") { cb = rounds; rounds = undefined; }
      return settle(() => bcrypt.genSaltSync(rounds), cb);
    },
  };

  // --- pg (node-postgres: the old pg.connect API, Client and Pool) ------------------------
  // Queries run one at a time on the host (host.pgQuery); a Pool is a Client with the Pool's
  // methods. Dates come back as Date objects, int8 and numeric as strings, as node-postgres.
  const pg = (() => {
    const DATE_TYPES = [1082, 1114, 1184];
    const connString = (c) => {
      if (typeof c === "string") return c;
      c = c || {};
      if (c.connectionString) return c.connectionString;
      const e = encodeURIComponent;
      const auth = c.user ? e(c.user) + (c.password ? ":" + e(c.password) : "") + "@" : "";
      return "postgresql://" + auth + (c.host || "localhost") + ":" + (c.port || 5432) + "/" + e(c.database || "");
    };
    const run = (conn, text, values) => {
      const r = parse(host.pgQuery(conn, String(text), stringify(values || [])));
      if (r.error !== undefined) {
        const e = new Error(r.error);
        if (r.code) e.code = r.code;
        throw e;
      }
      for (const f of r.fields) {
        if (!DATE_TYPES.includes(f.dataTypeID)) continue;
        for (const row of r.rows) if (row[f.name] !== null) row[f.name] = new Date(row[f.name]);
      }
      return { rows: r.rows, rowCount: r.rowCount, fields: r.fields, command: undefined };
    };
    const queryArgs = (a, b, c) => {
      if (a && typeof a === "object") return { text: a.text, values: a.values || [], cb: typeof b === "function" ? b : c };
      if (typeof b === "function") return { text: a, values: [], cb: b };
      return { text: a, values: b || [], cb: c };
    };
    class Client {
      constructor(config) { this._conn = connString(config); }
      connect(cb) { return settle(() => { run(this._conn, "SELECT 1"); }, cb); }
      query(a, b, c) { const q = queryArgs(a, b, c); return settle(() => run(this._conn, q.text, q.values), q.cb); }
      end(cb) { return settle(() => undefined, cb); }
      release() {}
      on() { return this; }
    }
    class Pool extends Client {
      connect(cb) {
        const client = new Client(this._conn);
        const release = () => {};
        client.release = release;
        if (typeof cb === "function") {
          Promise.resolve().then(() => {
            try { run(client._conn, "SELECT 1"); cb(null, client, release); } catch (e) { cb(e, null, release); }
          });
          return undefined;
        }
        return settle(() => { run(client._conn, "SELECT 1"); return client; });
      }
    }
    // pg.connect(conString, function (err, client, done) { ... }): the API of Auth0's templates.
    const connect = (config, cb) => {
      const client = new Client(config);
      const done = () => {};
      Promise.resolve().then(() => {
        try { run(client._conn, "SELECT 1"); } catch (e) { cb(e, null, done); return; }
        cb(null, client, done);
      });
    };
    return { Client, Pool, connect, defaults: {}, types: { setTypeParser() {} } };
  })();

  // --- mysql (mysqljs: createConnection, createPool, query with ? placeholders) -------------
  const mysql = (() => {
    const DATE_TYPES = [7, 10, 12]; // TIMESTAMP, DATE, DATETIME
    const urlOf = (c) => {
      if (typeof c === "string") return c;
      c = c || {};
      const e = encodeURIComponent;
      const auth = c.user ? e(c.user) + (c.password ? ":" + e(c.password) : "") + "@" : "";
      return "mysql://" + auth + (c.host || "localhost") + ":" + (c.port || 3306) + "/" + e(c.database || "");
    };
    const run = (url, sql, values) => {
      const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
      const r = parse(host.mysqlQuery(url, String(sql), stringify(list)));
      if (r.error !== undefined) {
        const e = new Error(r.error);
        e.code = r.code;
        e.fatal = false;
        throw e;
      }
      if (r.rows === null) return [{ affectedRows: r.affectedRows, insertId: r.insertId, changedRows: r.affectedRows }, undefined];
      for (const f of r.fields) {
        if (!DATE_TYPES.includes(f.type)) continue;
        for (const row of r.rows) if (row[f.name] !== null) row[f.name] = new Date(row[f.name]);
      }
      return [r.rows, r.fields];
    };
    const args = (a, b, c) => {
      let sql = a, values, cb;
      if (a && typeof a === "object") { sql = a.sql; values = a.values; }
      if (typeof b === "function") cb = b;
      else { if (b !== undefined) values = b; cb = c; }
      return { sql, values, cb };
    };
    const later = (fn) => Promise.resolve().then(fn);
    class Connection {
      constructor(config) { this._url = urlOf(config); this.config = config; }
      // Without a callback mysqljs reports a failed connect as an event; here the next
      // query reports it.
      connect(cb) {
        if (typeof cb !== "function") return;
        later(() => { try { run(this._url, "SELECT 1"); cb(null); } catch (e) { cb(e); } });
      }
      query(a, b, c) {
        const q = args(a, b, c);
        later(() => {
          let out;
          try { out = run(this._url, q.sql, q.values); } catch (e) { if (q.cb) q.cb(e); return; }
          if (q.cb) q.cb(null, out[0], out[1]);
        });
        return { on() { return this; } };
      }
      end(cb) { if (typeof cb === "function") later(() => cb(null)); }
      destroy() {}
      release() {}
      on() { return this; }
    }
    class Pool extends Connection {
      getConnection(cb) {
        const conn = new Connection(this._url);
        later(() => { try { run(conn._url, "SELECT 1"); cb(null, conn); } catch (e) { cb(e); } });
      }
    }
    return { createConnection: (c) => new Connection(c), createPool: (c) => new Pool(c) };
  })();

  // --- crypto -------------------------------------------------------------------------------
  const bytesOf = (data, encoding) => typeof data === "string" ? host.decode(data, encoding || "utf8") : toArray(data);
  const digestOut = (bytes, encoding) => encoding ? host.encode(bytes, encoding) : Buffer.fromBytes(bytes);
  const chunks = () => {
    const parts = [];
    return { add(d, e) { for (const b of bytesOf(d, e)) parts.push(b); }, all: () => parts };
  };
  const crypto = {
    randomUUID: () => host.uuid(),
    randomBytes: (n) => Buffer.fromBytes(host.random(n)),
    getRandomValues: (arr) => { const r = host.random(arr.length); for (let i = 0; i < arr.length; i++) arr[i] = r[i]; return arr; },
    createHash(alg) {
      const c = chunks();
      const h = { update(d, e) { c.add(d, e); return h; }, digest: (e) => digestOut(host.hash(alg, c.all()), e) };
      host.hash(alg, []); // an unknown algorithm fails here, as Node's does
      return h;
    },
    createHmac(alg, key) {
      const k = bytesOf(key);
      const c = chunks();
      const h = { update(d, e) { c.add(d, e); return h; }, digest: (e) => digestOut(host.hmac(alg, k, c.all()), e) };
      host.hmac(alg, k, []);
      return h;
    },
    timingSafeEqual(a, b) {
      if (a.length !== b.length) throw new RangeError("Input buffers must have the same byte length");
      let d = 0;
      for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
      return d === 0;
    },
  };
  // --- jsonwebtoken (sign, verify, decode; sync, or with a callback) ------------------------
  const jwtError = (name, message) => { const e = new Error(message); e.name = name; return e; };
  const b64json = (part) => parse(host.encode(host.decode(part, "base64url"), "utf8"));
  const jsonwebtoken = {
    sign(payload, key, options, cb) {
      if (typeof options === "function") { cb = options; options = {}; }
      try {
        const t = host.jwtSign(stringify(payload), String(key), stringify(options || {}));
        if (cb) { cb(null, t); return undefined; }
        return t;
      } catch (e) {
        const err = jwtError("Error", e.message);
        if (cb) { cb(err); return undefined; }
        throw err;
      }
    },
    verify(token, key, options, cb) {
      if (typeof options === "function") { cb = options; options = {}; }
      const r = parse(host.jwtVerify(String(token), String(key), stringify(options || {})));
      if (r.name) { const err = jwtError(r.name, r.message); if (cb) { cb(err); return undefined; } throw err; }
      const payload = parse(r.payload);
      if (cb) { cb(null, payload); return undefined; }
      return payload;
    },
    decode(token, options) {
      const parts = String(token).split(".");
      if (parts.length !== 3) return null;
      try {
        const payload = b64json(parts[1]);
        return options && options.complete ? { header: b64json(parts[0]), payload, signature: parts[2] } : payload;
      } catch (e) { return null; }
    },
  };

  const webCrypto = freeze({ randomUUID: crypto.randomUUID, getRandomValues: crypto.getRandomValues });

  const modules = {
    crypto: freeze(crypto),
    "node:crypto": freeze(crypto),
    buffer: freeze({ Buffer }),
    "node:buffer": freeze({ Buffer }),
    "node-fetch": nodeFetch,
    axios,
    request: requestModule,
    pg: freeze(pg),
    mysql: freeze(mysql),
    bcrypt: freeze(bcrypt),
    bcryptjs: freeze(bcrypt),
    jsonwebtoken: freeze(jsonwebtoken),
    url: freeze({ URL, URLSearchParams }),
    "node:url": freeze({ URL, URLSearchParams }),
  };
  return {
    globals: { Buffer, TextEncoder, TextDecoder, URL, URLSearchParams, Headers, fetch, crypto: webCrypto },
    modules,
  };
})
