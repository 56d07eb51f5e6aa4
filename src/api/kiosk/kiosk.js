/* idverifd kiosk: what the candidate sees. Vanilla JS, no build step, offline.
 *
 * Server contract (all same-origin, JSON bodies, loopback only; every request
 * carries this boot's kiosk key in the cookie set when the page was opened):
 *   GET  /kiosk/api/session            -> {"session": null} | {"session": {id, language, consent_given, stage, oval, ...}}
 *   GET  /kiosk/api/events?session=ID  -> SSE; each message's data is a SessionEvent JSON ({seq, at, type, ...})
 *   GET  /kiosk/preview.mjpeg          -> multipart/x-mixed-replace JPEG stream
 *   GET  /kiosk/api/photo?session=ID   -> the captured face photo (image/jpeg)
 *   POST /kiosk/api/consent  {session, language}
 *   POST /kiosk/api/retake   {session}
 *   POST /kiosk/api/continue {session}
 *   POST /kiosk/api/iin      {session, iin, confirmed: true}
 *   POST /kiosk/api/guardian {session, confirmed: true}
 */
(function () {
  'use strict';

  // The kiosk key came in the URL the appliance opened (?key=…); the daemon keeps
  // it in a same-site cookie that every later request carries. Take it off the
  // address shown, so it is not left on screen or in the history.
  if (/[?&]key=/.test(location.search) && history.replaceState) {
    history.replaceState(null, '', location.pathname);
  }

  // --- strings
  // Every word the candidate can see, per language. Prompt codes are "p_<code>".
  // Filled in by the daemon from src/api/kiosk/strings.json, with the exam
  // centre's own wording (kiosk.centre in the config) laid over it.
  const T = /*KIOSK_STRINGS*/{};

  // --- constants
  const LANGS = ['kk', 'ru', 'en'];
  const POLL_MS = 1000;          // session poll while idle
  const RETRY_MS = 1000;         // event stream reconnect
  const RESULT_MS = 15000;       // result screen, then back to idle
  const PREVIEW_RETRY_MS = 2000;
  const PREVIEW_URL = '/kiosk/preview.mjpeg';
  // SSE `event:` names to listen for (the daemon names each event by its type).
  const EVENT_NAMES = ['message', 'status', 'stage', 'prompt', 'camera', 'decision', 'flash'];
  const DECISIONS = ['verified', 'rejected', 'needs_review', 'pending_guardian'];
  // What a rejected subject can do next, by the decision's reasons (every reason
  // code the daemon has; a unit test in kiosk_strings.rs holds this list to it).
  const NEXT_STEPS = {
    subject_timeout: 'n_try_again', consent_not_given: 'n_try_again', no_face_detected: 'n_try_again',
    face_not_captured: 'n_try_again', challenge_not_completed: 'n_try_again', face_lost: 'n_try_again',
    presentation_attack_suspected: 'n_try_again',
    camera_lost: 'n_technical', evidence_not_stored: 'n_technical',
    document_not_read: 'n_document', document_inconsistent: 'n_document', portrait_not_compared: 'n_document',
    document_expired: 'n_document_expired',
    expected_iin_mismatch: 'n_iin_mismatch',
    face_mismatch: 'n_face_mismatch',
    replayed_source: 'n_operator', iin_entered_by_subject: 'n_operator', guardian_required: 'n_operator'
  };
  const FACE_PROMPTS = ['show_face', 'one_person_only', 'too_dark', 'too_bright', 'center_face', 'move_closer',
    'move_back', 'look_straight', 'hold_still', 'countdown', 'camera_unavailable',
    'turn_left', 'turn_right', 'look_up', 'blink'];
  const DOC_PROMPTS = ['show_front', 'show_back', 'show_passport', 'hold_card_flat', 'too_blurry', 'glare', 'move_card_closer'];
  // Picture drawn over the preview for a prompt: classes of #challenge.
  const PICTURES = {
    turn_left: 'arrow left', turn_right: 'arrow right', look_up: 'arrow up', blink: 'eye',
    move_closer: 'closer', move_back: 'back', move_card_closer: 'closer'
  };
  const DEFAULT_OVAL = { centre_x: 0.5, centre_y: 0.45, width: 0.36, height: 0.64 };
  const CARD_AR = 85.6 / 53.98;      // ID-1 card
  const PASSPORT_AR = 125 / 88;      // passport photo page opened (ID-3 spread)

  // --- state
  const S = {
    phase: 'idle',       // idle | language | consent | run | end
    session: null,
    lang: 'kk',
    view: null,          // in "run": capture | review | iin | guardian | wait
    mode: 'face',        // capture guide: face | card | passport
    prompt: null,
    value: null,
    minor: '',
    camera: true,
    flash: null,
    ended: null,         // decision code or "stopped"
    reasons: [],         // the decision's reason codes
    lastSeq: 0,
    es: null,
    esTimer: 0,
    pollTimer: 0,
    idleTimer: 0,
    done: new Set(),     // sessions already shown to the end
    busy: false,
    photoT: 0,
    previewNonce: 0,
    aspect: 4 / 3,
    oval: DEFAULT_OVAL,
    iin: '',
    shown: null          // id of the visible screen
  };

  const $ = (id) => document.getElementById(id);
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  function tr(key, lang) {
    const table = T[lang || S.lang] || T.kk;
    return has(table, key) ? table[key] : '';
  }
  function promptText(code) {
    return typeof code === 'string' ? tr('p_' + code) : '';
  }

  // --- network
  async function postJSON(path, body) {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store'
    });
    if (!r.ok) {
      const err = new Error('HTTP ' + r.status);
      err.status = r.status;
      // The daemon's stable error code (`{"error": {"code": …}}`), when it sent one.
      try { const j = await r.json(); err.code = j && j.error && j.error.code; } catch (_) { err.code = null; }
      throw err;
    }
    return r;
  }

  async function fetchSession() {
    const r = await fetch('/kiosk/api/session', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const j = await r.json();
    const s = j && j.session;
    return s && typeof s.id === 'string' && s.id ? s : null;
  }

  function poll() {
    clearTimeout(S.pollTimer);
    if (S.phase !== 'idle') return;
    fetchSession().then((s) => {
      if (S.phase === 'idle' && s && !S.done.has(s.id)) startSession(s);
    }).catch(() => { /* daemon restarting: stay idle */ }).finally(() => {
      if (S.phase === 'idle') S.pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  function openEvents() {
    closeEvents();
    if (!S.session) return;
    const es = new EventSource('/kiosk/api/events?session=' + encodeURIComponent(S.session.id));
    S.es = es;
    const onMessage = (e) => {
      if (S.es !== es) return;
      let d;
      try { d = JSON.parse(e.data); } catch (_) { return; }
      if (d && typeof d === 'object') onEvent(d);
    };
    EVENT_NAMES.forEach((n) => es.addEventListener(n, onMessage));
    es.onerror = () => {
      if (S.es !== es) return;
      es.close();
      S.es = null;
      if (S.phase === 'end' || S.phase === 'idle') return;
      S.esTimer = setTimeout(reconnect, RETRY_MS);
    };
  }

  function closeEvents() {
    clearTimeout(S.esTimer);
    if (S.es) { S.es.close(); S.es = null; }
  }

  // The stream broke before the end: is the session still there?
  function reconnect() {
    if (!S.session || S.phase === 'end' || S.phase === 'idle') return;
    const id = S.session.id;
    fetchSession().then((s) => {
      if (!S.session || S.session.id !== id || S.phase === 'end') return;
      if (s && s.id === id) openEvents();
      else goIdle();   // gone without an end event: nothing to show
    }).catch(() => {
      if (S.session && S.session.id === id && S.phase !== 'end') S.esTimer = setTimeout(reconnect, RETRY_MS);
    });
  }

  // --- events
  function onEvent(d) {
    if (typeof d.seq === 'number') {
      if (d.seq <= S.lastSeq) return;
      S.lastSeq = d.seq;
    }
    if (S.phase === 'end' || S.phase === 'idle') return;
    switch (d.type) {
      case 'status':
        if (d.status === 'cancelled' || d.status === 'interrupted') { finish('stopped'); return; }
        break;
      case 'decision':
        S.reasons = Array.isArray(d.reasons) ? d.reasons.filter((r) => typeof r === 'string') : [];
        finish(DECISIONS.indexOf(d.decision) >= 0 ? d.decision : 'rejected');
        return;
      case 'stage': onStage(d.stage); break;
      case 'prompt': onPrompt(d); break;
      case 'camera':
        if (d.available === false) S.camera = false;
        else if (!S.camera) { S.camera = true; S.previewNonce++; }
        break;
      case 'flash':
        S.flash = typeof d.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(d.color) ? d.color : null;
        break;
      default: return;   // unknown event: nothing to show
    }
    render();
  }

  function onStage(stage) {
    if (typeof stage !== 'string') return;
    if (stage === 'face_capture') { S.view = 'capture'; S.mode = 'face'; S.prompt = null; S.value = null; }
    else if (stage === 'face_review') { enterReview(); }
    else if (stage === 'done') { S.view = 'wait'; }
    else if (/doc|card|passport/.test(stage)) { S.view = 'capture'; if (S.mode === 'face') S.mode = 'card'; S.prompt = null; }
    else if (/liveness|challenge/.test(stage)) { S.view = 'capture'; S.mode = 'face'; S.prompt = null; }
    else if (/iin/.test(stage)) { enterIin(); }
    else if (/guardian/.test(stage)) { enterGuardian(S.minor); }
    // any other stage: keep what is on screen until its prompts arrive
  }

  function onPrompt(d) {
    const p = d.prompt;
    if (typeof p !== 'string') return;
    if (p === 'captured') { enterReview(); S.prompt = p; return; }
    if (p === 'enter_iin') { enterIin(); return; }
    S.prompt = p;
    S.value = Number.isInteger(d.value) ? d.value : null;
    if (DOC_PROMPTS.indexOf(p) >= 0) {
      S.view = 'capture';
      if (p === 'show_passport') S.mode = 'passport';
      else if (p === 'show_front' || p === 'show_back' || S.mode === 'face') S.mode = 'card';
    } else if (FACE_PROMPTS.indexOf(p) >= 0) {
      if (p !== 'camera_unavailable') { S.view = 'capture'; S.mode = 'face'; }
    }
    // unknown prompt codes: the prompt line stays empty
  }

  function enterReview() {
    if (S.view !== 'review') { S.photoT = Date.now(); S.photoTries = 0; hideError('review-error'); }
    S.view = 'review';
  }

  function enterIin() {
    if (S.view !== 'iin') {
      S.iin = '';
      $('iin-input').value = '';
      $('iin-confirm').checked = false;
      hideError('iin-error');
      loadReadFields();
    }
    S.view = 'iin';
  }

  // The fields read from the document, for the subject to check before confirming.
  async function loadReadFields() {
    const box = $('iin-read-box'), list = $('iin-read');
    list.replaceChildren();
    box.hidden = true;
    try {
      const r = await fetch('/kiosk/api/session', { cache: 'no-store' });
      const s = (await r.json()).session;
      const f = s && s.read_fields;
      if (!f) return;
      ['surname', 'given_names', 'patronymic', 'birth_date'].forEach((k) => {
        if (typeof f[k] !== 'string' || !f[k]) return;
        const dt = document.createElement('dt');
        dt.dataset.t = 'f_' + k;
        dt.textContent = tr('f_' + k, S.lang);
        const dd = document.createElement('dd');
        dd.textContent = f[k];
        list.append(dt, dd);
      });
      box.hidden = !list.children.length;
    } catch (e) { /* the field and the checkbox still work without the list */ }
  }

  function enterGuardian(name) {
    if (S.view !== 'guardian') { $('guardian-checkbox').checked = false; hideError('guardian-error'); }
    if (name) S.minor = name;
    S.view = 'guardian';
  }

  // --- transitions
  function resetSessionState() {
    S.view = null; S.mode = 'face'; S.prompt = null; S.value = null; S.minor = '';
    S.camera = true; S.flash = null; S.ended = null; S.reasons = []; S.lastSeq = 0; S.busy = false;
    S.photoT = 0; S.iin = '';
    $('consent-checkbox').checked = false;
    $('guardian-checkbox').checked = false;
    $('iin-confirm').checked = false;
    $('iin-input').value = '';
    ['consent-error', 'review-error', 'iin-error', 'guardian-error'].forEach(hideError);
  }

  function fraction(v, dflt) {
    return typeof v === 'number' && isFinite(v) && v > 0 && v <= 1 ? v : dflt;
  }

  function startSession(s) {
    clearTimeout(S.pollTimer);
    clearTimeout(S.idleTimer);
    resetSessionState();
    S.session = s;
    S.lang = LANGS.indexOf(s.language) >= 0 ? s.language : 'kk';
    S.minor = typeof s.minor_name === 'string' ? s.minor_name : '';
    const o = s.oval || {};
    S.oval = {
      centre_x: fraction(o.centre_x, DEFAULT_OVAL.centre_x),
      centre_y: fraction(o.centre_y, DEFAULT_OVAL.centre_y),
      width: fraction(o.width, DEFAULT_OVAL.width),
      height: fraction(o.height, DEFAULT_OVAL.height)
    };
    if (s.frame && s.frame.width > 0 && s.frame.height > 0) S.aspect = s.frame.width / s.frame.height;
    if (s.consent_given) {
      S.phase = 'run';
      if (s.stage) onStage(s.stage);
    } else {
      S.phase = 'language';
    }
    openEvents();
    render();
  }

  function finish(kind) {
    S.phase = 'end';
    S.ended = kind;
    S.flash = null;
    closeEvents();
    if (S.session) S.done.add(S.session.id);
    clearTimeout(S.idleTimer);
    S.idleTimer = setTimeout(goIdle, RESULT_MS);
    render();
  }

  function goIdle() {
    closeEvents();
    clearTimeout(S.idleTimer);
    if (S.session) S.done.add(S.session.id);
    S.session = null;
    resetSessionState();
    S.phase = 'idle';
    render();
    poll();
  }

  // --- render
  const SCREENS = ['idle', 'language', 'consent', 'capture', 'review', 'iin', 'guardian', 'wait', 'result'];

  function currentScreen() {
    switch (S.phase) {
      case 'idle': return 'idle';
      case 'language': return 'language';
      case 'consent': return 'consent';
      case 'end': return 'result';
      default: return S.view || 'capture';
    }
  }

  function applyTexts() {
    document.querySelectorAll('[data-t]').forEach((el) => {
      const txt = tr(el.getAttribute('data-t'), el.getAttribute('data-l') || S.lang);
      if (el.textContent !== txt) el.textContent = txt;
    });
  }

  function render() {
    const screen = currentScreen();
    document.documentElement.lang = S.phase === 'idle' ? 'kk' : S.lang;
    applyTexts();

    if (screen === 'language') renderLanguage();
    if (screen === 'consent') renderConsent();
    if (screen === 'capture') renderCapture();
    if (screen === 'review') renderReview();
    if (screen === 'iin') renderIin();
    if (screen === 'guardian') renderGuardian();
    if (screen === 'result') renderResult();
    // The stream stays open over the photo's review and the waits between stages:
    // reopened, the preview stayed black for the first half second of a challenge.
    setPreview(S.phase === 'run' && S.camera && (screen === 'capture' || screen === 'review' || screen === 'wait'));
    if (screen !== 'review') $('captured-photo').removeAttribute('src');
    if (screen !== 'guardian') $('minor-name').textContent = '';

    // The flash covers the whole screen, prompt line included: it carries its own
    // prompt, in black or white, whichever reads on the colour shown.
    const flash = $('flash');
    if (S.flash && S.phase === 'run') {
      flash.style.backgroundColor = S.flash;
      flash.style.color = luminance(S.flash) > 0.18 ? '#000' : '#fff';
      $('flash-prompt').textContent = promptText(S.prompt) || tr('p_look_at_screen');
      flash.hidden = false;
    } else { flash.hidden = true; flash.style.backgroundColor = ''; $('flash-prompt').textContent = ''; }

    if (screen !== S.shown) {
      SCREENS.forEach((n) => { $('scr-' + n).hidden = n !== screen; });
      S.shown = screen;
      focusScreen(screen);
    }
  }

  // Relative luminance (WCAG) of a #RRGGBB colour.
  function luminance(hex) {
    const c = [1, 3, 5].map((i) => parseInt(hex.substr(i, 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function focusScreen(screen) {
    let el = null;
    if (screen === 'language') el = document.querySelector('.btn.lang.default');
    else if (screen === 'consent' || screen === 'review' || screen === 'iin' || screen === 'guardian' ||
      screen === 'result' || screen === 'wait') el = $('scr-' + screen).querySelector('h1');
    if (el) el.focus({ preventScroll: true });
    else if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  }

  function renderLanguage() {
    document.querySelectorAll('.btn.lang').forEach((b) => {
      const on = b.getAttribute('data-lang') === S.lang;
      b.classList.toggle('default', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
  }

  function renderConsent() {
    $('consent-continue').disabled = !$('consent-checkbox').checked || S.busy;
  }

  function renderCapture() {
    const frame = $('frame');
    frame.style.setProperty('--ar', String(S.aspect));
    const doc = S.mode !== 'face';
    frame.classList.toggle('doc', doc);

    const ok = !doc && (S.prompt === 'hold_still' || S.prompt === 'countdown');
    const oval = $('oval');
    oval.classList.toggle('ok', ok);

    // Guides in the frame's own coordinates (0..1000 both ways); the mirror
    // wrapper flips them together with the picture.
    let d = 'M0 0H1000V1000H0Z';
    if (!doc) {
      const cx = S.oval.centre_x * 1000, cy = S.oval.centre_y * 1000;
      const rx = S.oval.width * 500, ry = S.oval.height * 500;
      oval.setAttribute('cx', cx); oval.setAttribute('cy', cy);
      oval.setAttribute('rx', rx); oval.setAttribute('ry', ry);
      d += 'M' + (cx - rx) + ' ' + cy + 'a' + rx + ' ' + ry + ' 0 1 0 ' + (2 * rx) + ' 0' +
        'a' + rx + ' ' + ry + ' 0 1 0 ' + (-2 * rx) + ' 0Z';
    } else {
      const ar = S.mode === 'passport' ? PASSPORT_AR : CARD_AR;
      // Fractions of the frame's width and height. The guide keeps clear of the lower
      // fifth, where the Retake button sits (a passport page's taller guide ran under it).
      let w = 0.72, h = w * S.aspect / ar;
      if (h > 0.62) { h = 0.62; w = h * ar / S.aspect; }
      const x = (1 - w) * 500, y = (1 - h) * 500, W = w * 1000, H = h * 1000;
      const card = $('card');
      card.setAttribute('x', x); card.setAttribute('y', y);
      card.setAttribute('width', W); card.setAttribute('height', H);
      card.setAttribute('rx', 30); card.setAttribute('ry', 30 * S.aspect);
      card.classList.toggle('ok', S.prompt === 'hold_card_flat');
      d += 'M' + x + ' ' + y + 'h' + W + 'v' + H + 'h' + (-W) + 'Z';
    }
    $('mask').setAttribute('d', d);

    // Countdown number over the oval (the overlay is not mirrored).
    const cd = $('countdown');
    const n = S.prompt === 'countdown' && Number.isInteger(S.value) && S.value > 0 && S.value < 100 ? S.value : null;
    if (n !== null && S.camera) {
      cd.style.left = ((1 - S.oval.centre_x) * 100) + '%';
      cd.style.top = (S.oval.centre_y * 100) + '%';
      if (cd.textContent !== String(n)) {
        cd.textContent = String(n);
        cd.style.animation = 'none'; void cd.offsetWidth; cd.style.animation = '';
      }
      cd.hidden = false;
    } else {
      cd.hidden = true;
      cd.textContent = '';
    }

    // Picture for a challenge.
    const ch = $('challenge');
    const pic = S.camera && has(PICTURES, S.prompt || '') ? PICTURES[S.prompt] : null;
    ch.className = 'challenge' + (pic ? ' ' + pic : '');
    ch.hidden = !pic;

    // During the document stages the subject can start the document over.
    $('doc-retake').hidden = !(doc && S.camera);
    $('doc-retake').disabled = S.busy;

    $('cam-off').hidden = S.camera;
    let text;
    if (!S.camera) text = tr('p_camera_unavailable');
    else if (S.prompt) text = promptText(S.prompt);
    else text = doc ? '' : tr('p_show_face');
    const pr = $('prompt');
    if (pr.textContent !== text) pr.textContent = text;
  }

  function renderReview() {
    const img = $('captured-photo');
    const src = '/kiosk/api/photo?session=' + encodeURIComponent(S.session.id) + '&t=' + S.photoT;
    if (img.getAttribute('src') !== src) img.src = src;
    $('retake').disabled = S.busy;
    $('continue').disabled = S.busy;
  }

  function renderIin() {
    const input = $('iin-input');
    if (input.value !== S.iin) input.value = S.iin;
    $('iin-counter').textContent = S.iin.length + ' / 12';
    $('iin-submit').disabled = !$('iin-confirm').checked || S.busy;
  }

  function renderGuardian() {
    $('minor-name').textContent = S.minor;
    $('minor-name').hidden = !S.minor;
    $('guardian-continue').disabled = !$('guardian-checkbox').checked || S.busy;
  }

  function renderResult() {
    const kind = S.ended || 'stopped';
    const el = $('result');
    el.textContent = tr('d_' + kind) || tr('d_rejected');
    el.setAttribute('data-decision', kind);
    $('scr-result').classList.toggle('verified', kind === 'verified');
    // A rejection says what to do next: one line per distinct next step, in the
    // order of the reasons; the operator when no reason has its own.
    const next = $('result-next');
    let keys = [];
    if (kind === 'rejected') {
      S.reasons.forEach((r) => { const k = has(NEXT_STEPS, r) ? NEXT_STEPS[r] : null; if (k && keys.indexOf(k) < 0) keys.push(k); });
      if (keys.length > 1) keys = keys.filter((k) => k !== 'n_operator');
      if (!keys.length) keys = ['n_operator'];
    }
    if (next.getAttribute('data-steps') !== keys.join(' ')) {
      next.replaceChildren(...keys.map((k) => {
        const p = document.createElement('p');
        p.setAttribute('data-t', k);
        p.textContent = tr(k);
        return p;
      }));
      next.setAttribute('data-steps', keys.join(' '));
    }
    next.hidden = !keys.length;
  }

  // --- preview
  let previewWanted = '';
  function setPreview(on) {
    const img = $('preview');
    const url = on ? PREVIEW_URL + (S.previewNonce ? '?r=' + S.previewNonce : '') : '';
    if (url === previewWanted) return;
    previewWanted = url;
    img.classList.remove('broken');
    if (url) img.src = url;
    else img.removeAttribute('src');   // closes the stream
  }

  function watchAspect() {
    const img = $('preview');
    if (previewWanted && img.naturalWidth > 16 && img.naturalHeight > 16) {
      const ar = img.naturalWidth / img.naturalHeight;
      if (Math.abs(ar - S.aspect) > 0.01) { S.aspect = ar; if (S.shown === 'capture') renderCapture(); }
    }
  }

  function previewError() {
    if (!previewWanted) return;
    $('preview').classList.add('broken');
    setTimeout(() => {
      if (previewWanted) { S.previewNonce++; render(); }
    }, PREVIEW_RETRY_MS);
  }

  // --- actions
  function showError(id, key) {
    const el = $(id);
    el.textContent = tr(key);
    el.hidden = false;
  }
  function hideError(id) {
    const el = $(id);
    el.hidden = true;
    el.textContent = '';
  }

  async function act(fn) {
    if (S.busy || !S.session) return;
    const id = S.session.id;
    S.busy = true;
    render();
    try {
      await fn(id);
    } finally {
      if (S.session && S.session.id === id) { S.busy = false; render(); }
    }
  }

  function chooseLanguage(lang) {
    if (S.phase !== 'language' || LANGS.indexOf(lang) < 0) return;
    S.lang = lang;
    S.phase = 'consent';
    hideError('consent-error');
    render();
  }

  function sendConsent() {
    if (S.phase !== 'consent' || !$('consent-checkbox').checked) return;
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/consent', { session: id, language: S.lang });
        if (S.phase === 'consent' && S.session && S.session.id === id) {
          S.phase = 'run';
          if (!S.view) S.view = 'capture';
        }
      } catch (_) {
        showError('consent-error', 'error_generic');
      }
    });
  }

  function retake() {
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/retake', { session: id });
        if (S.view === 'review') { S.view = 'capture'; S.mode = 'face'; S.prompt = null; S.value = null; }
      } catch (_) {
        showError('review-error', 'error_generic');
      }
    });
  }

  // Retake during a document stage: the card from its front (or the page) again.
  function retakeDocument() {
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/retake', { session: id });
        if (S.view === 'capture' && S.mode !== 'face') { S.prompt = null; S.value = null; }
      } catch (_) { /* the stage goes on; the button stays */ }
    });
  }

  function proceed() {
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/continue', { session: id });
        if (S.view === 'review') S.view = 'wait';
      } catch (_) {
        showError('review-error', 'error_generic');
      }
    });
  }

  function setIin(v) {
    S.iin = v.replace(/\D/g, '').slice(0, 12);
    hideError('iin-error');
    render();
  }

  function submitIin() {
    if (S.view !== 'iin' || !$('iin-confirm').checked) return;
    if (!/^\d{12}$/.test(S.iin)) { showError('iin-error', 'iin_not12'); return; }
    const iin = S.iin;
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/iin', { session: id, iin: iin, confirmed: true });
        if (S.view === 'iin') { S.view = 'wait'; S.iin = ''; $('iin-input').value = ''; }
      } catch (e) {
        // The daemon judges the number (check digit, birth date, century): one rule, in Rust.
        const why = e.code === 'iin_invalid' ? 'iin_bad' : e.status >= 400 && e.status < 500 ? 'iin_rejected' : 'error_generic';
        showError('iin-error', why);
      }
    });
  }

  function sendGuardian() {
    if (S.view !== 'guardian' || !$('guardian-checkbox').checked) return;
    act(async (id) => {
      try {
        await postJSON('/kiosk/api/guardian', { session: id, confirmed: true });
        if (S.view === 'guardian') S.view = 'wait';
      } catch (_) {
        showError('guardian-error', 'error_generic');
      }
    });
  }

  // --- wiring
  // Keypad: 1-9, Clear, 0, Delete; data-testid key-<x>.
  function buildKeypad() {
    const pad = $('keypad');
    pad.textContent = '';
    ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'back'].forEach((k) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'key' + (k.length > 1 ? ' fn' : '');
      b.setAttribute('data-key', k);
      b.setAttribute('data-testid', 'key-' + k);
      if (k === 'clear') {
        b.innerHTML = '<span data-t="key_clear"></span>';
      } else if (k === 'back') {
        b.innerHTML = '<span aria-hidden="true">⌫</span><span class="visually-hidden" data-t="key_back"></span>';
      } else {
        b.textContent = k;
      }
      pad.appendChild(b);
    });
  }

  function init() {
    buildKeypad();
    document.querySelectorAll('.btn.lang').forEach((b) => {
      b.addEventListener('click', () => chooseLanguage(b.getAttribute('data-lang')));
    });
    $('back-lang').addEventListener('click', () => {
      if (S.phase === 'consent' && !S.busy) { S.phase = 'language'; render(); }
    });
    $('consent-checkbox').addEventListener('change', () => { hideError('consent-error'); render(); });
    $('consent-continue').addEventListener('click', sendConsent);
    $('retake').addEventListener('click', retake);
    $('continue').addEventListener('click', proceed);
    $('doc-retake').addEventListener('click', retakeDocument);
    $('iin-input').addEventListener('input', (e) => setIin(e.target.value));
    $('iin-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); submitIin(); } });
    $('iin-confirm').addEventListener('change', render);
    $('iin-submit').addEventListener('click', submitIin);
    $('keypad').addEventListener('click', (e) => {
      const b = e.target.closest('[data-key]');
      if (!b) return;
      const k = b.getAttribute('data-key');
      if (k === 'back') setIin(S.iin.slice(0, -1));
      else if (k === 'clear') setIin('');
      else setIin(S.iin + k);
    });
    $('guardian-checkbox').addEventListener('change', () => { hideError('guardian-error'); render(); });
    $('guardian-continue').addEventListener('click', sendGuardian);

    // Enter toggles a checkbox too (Space already does).
    document.querySelectorAll('input[type=checkbox]').forEach((c) => {
      c.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') { e.preventDefault(); c.click(); }
      });
    });

    const img = $('preview');
    img.addEventListener('load', watchAspect);
    img.addEventListener('error', previewError);
    // The photo can lag its event: try again a few times, never show a broken icon.
    const photo = $('captured-photo');
    photo.addEventListener('load', () => { photo.classList.remove('broken'); S.photoTries = 0; });
    photo.addEventListener('error', () => {
      if (!photo.getAttribute('src')) return;
      photo.classList.add('broken');
      if (S.view === 'review' && (S.photoTries = (S.photoTries || 0) + 1) <= 5) {
        setTimeout(() => { if (S.view === 'review') { S.photoT = Date.now(); render(); } }, 600);
      }
    });
    setInterval(watchAspect, 500);

    // Kiosk: no long-press menus or image dragging.
    document.addEventListener('contextmenu', (e) => e.preventDefault());
    document.addEventListener('dragstart', (e) => e.preventDefault());

    render();
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
