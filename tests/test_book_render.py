"""The book builds at the smoke scale, and every chapter renders offline in a real browser.

One module-scoped build (what `make book PRESET=smoke` runs, into a temporary directory) serves every test here.
Each page of `_toc.yml` is then opened from disk (file://, as a reader opens the book) in headless Chromium with the
network unreachable: it must load without console errors or failed requests, draw every altair chart and typeset all
of its math. Screenshots of every page and of every chart go to `$PETRI_ARTIFACTS/book` (default
`test-artifacts/book`). Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`), so
nothing beyond the browser needs installing. A missing browser fails the test; `PETRI_NO_BROWSER=1` skips it.
"""
import base64, fcntl, json, os, queue, re, shutil, subprocess, sys, threading, time
from pathlib import Path

import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK_FLAGS = ['--all', '-W', '--keep-going']  # as in the Makefile's `book` target
BUILD_TIMEOUT_S, PAGE_TIMEOUT_S, SETTLE_S = 20 * 60, 90, 15
WIDTH, HEIGHT, MAX_SHOT_HEIGHT = 1280, 900, 16000


def toc_pages(toc=ROOT / '_toc.yml'):
    "Every page of the book in reading order, as paths from the book root without suffix (`nbs/10_kg`)."
    def walk(node):
        if isinstance(node, list):
            for item in node: yield from walk(item)
        elif isinstance(node, dict):
            for key in ('root', 'file'):
                if key in node: yield re.sub(r'\.(ipynb|md)$', '', str(node[key]))
            for value in node.values(): yield from walk(value)
    return list(dict.fromkeys(walk(yaml.safe_load(toc.read_text()))))


def test_toc_pages_are_the_chapters_in_reading_order():
    pages = toc_pages()
    assert pages[0] == 'nbs/00_index' and pages.index('nbs/10_kg') < pages.index('nbs/11_languages'), pages
    assert all((ROOT / f"{p}.ipynb").exists() or (ROOT / f"{p}.md").exists() for p in pages), pages


@pytest.fixture(scope='module')
def book(tmp_path_factory):
    "The whole book built at the smoke scale into a temporary directory (its runs cached there too): the html folder."
    out = tmp_path_factory.mktemp('book')
    env = {**os.environ, 'PETRI_PRESET': 'smoke', 'PETRI_RUNS': str(out / 'runs'), 'OMP_WAIT_POLICY': 'PASSIVE'}
    cmd = [str(Path(sys.executable).parent / 'jupyter-book'), 'build', *BOOK_FLAGS, str(ROOT), '--path-output', str(out)]
    start = time.monotonic()
    try:
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the smoke book did not build within {BUILD_TIMEOUT_S // 60} minutes: {' '.join(cmd)}")
    log = re.sub(r'\x1b\[[0-9;]*m', '', res.stdout + res.stderr)
    (out / 'build.log').write_text(log)
    lines = [line for line in log.splitlines() if 'IPKernelApp' not in line]  # kernels' own chatter
    warnings = [line for line in lines if re.search(r'WARNING|ERROR|Error', line)]
    assert res.returncode == 0, (f"`{' '.join(cmd)}` failed (exit {res.returncode}); full log in {out / 'build.log'}\n"
                                 + '\n'.join(dict.fromkeys(warnings[:30])) + '\n...\n' + '\n'.join(lines[-40:]))
    print(f"smoke book built in {time.monotonic() - start:.0f} s")
    return out / '_build' / 'html'


def test_every_chapter_is_built(book):
    missing = [p for p in toc_pages() if not (book / f"{p}.html").exists()]
    assert not missing, f"pages in _toc.yml missing from the built book: {missing}"


# tags that make a browser fetch an address when the page opens (links the reader clicks are fine)
_FETCHES = re.compile(r'<(?:script|img|iframe|source|audio|video|embed)\b[^>]*?\bsrc=["\']((?:https?:)?//[^"\']+)'
                      r'|<link\b(?=[^>]*\brel=["\'][^"\']*(?:stylesheet|preload|icon|manifest))[^>]*?\bhref=["\']((?:https?:)?//[^"\']+)',
                      re.I)


def test_pages_fetch_nothing_from_the_internet(book):
    found = [(page.relative_to(book).as_posix(), ''.join(m)) for page in sorted(book.rglob('*.html'))
             for m in _FETCHES.findall(page.read_text(encoding='utf-8'))]
    assert not found, "pages that fetch from the internet (ship the file under _static instead):\n" + \
        '\n'.join(f"  {page}: {url}" for page, url in dict.fromkeys(found))


# Headless and offline: every address, loopback included, goes to a proxy on a closed port; no background traffic.
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--disable-extensions', '--disable-default-apps', '--mute-audio', '--hide-scrollbars',
                  '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=<-loopback>', f'--window-size={WIDTH},{HEIGHT}']
# Chromium reads protocol messages from fd 3 and writes to fd 4; this trampoline puts our pipe ends there.
_ON_FDS_3_AND_4 = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])"


def chromium_path():
    return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')


def _above_4(fd):
    "`fd` moved above 4, so that putting one pipe end on 3 or 4 in the child cannot clobber the other."
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Chromium:
    "Headless Chromium driven over the DevTools protocol on a pipe (JSON messages ended by NUL)."
    def __init__(self, exe, profile):
        cmd_r, self._cmd_w = os.pipe()
        self._ev_r, ev_w = os.pipe()
        cmd_r, ev_w = _above_4(cmd_r), _above_4(ev_w)
        self.proc = subprocess.Popen([sys.executable, '-c', _ON_FDS_3_AND_4, str(cmd_r), str(ev_w), exe, *CHROMIUM_FLAGS,
                                      f'--user-data-dir={profile}', '--remote-debugging-pipe', 'about:blank'],
                                     pass_fds=(cmd_r, ev_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r); os.close(ev_w)
        self._next_id, self._replies, self.events = 0, {}, queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b''
        while chunk := os.read(self._ev_r, 1 << 20):
            *msgs, buf = (buf + chunk).split(b'\0')
            for msg in map(json.loads, msgs):
                if 'id' not in msg: self.events.put(msg); continue
                with self._cond: self._replies[msg['id']] = msg; self._cond.notify_all()
        with self._cond: self._replies[None] = {'error': {'message': 'chromium exited'}}; self._cond.notify_all()

    def call(self, method, session=None, timeout=PAGE_TIMEOUT_S, **params):
        "Send one command (to a tab's `session`, else to the browser) and return its result."
        self._next_id += 1
        msg = {'id': self._next_id, 'method': method, 'params': params, **({'sessionId': session} if session else {})}
        os.write(self._cmd_w, json.dumps(msg).encode() + b'\0')
        with self._cond:
            if not self._cond.wait_for(lambda: self._next_id in self._replies or None in self._replies, timeout):
                raise TimeoutError(f"chromium did not answer {method} within {timeout} s")
            reply = self._replies.pop(self._next_id, None) or self._replies[None]
        if 'error' in reply: raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply['result']

    def evaluate(self, session, expression, **kw):
        return self.call('Runtime.evaluate', session, expression=expression, returnByValue=True, **kw)['result'].get('value')

    def close(self):
        try: self.call('Browser.close', timeout=10)
        except (RuntimeError, TimeoutError, OSError): pass
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        os.close(self._cmd_w)


def _problem(ev, urls):
    "The problem a DevTools event reports (console error, uncaught exception, failed request), else None."
    method, p = ev['method'], ev.get('params', {})
    if method == 'Network.requestWillBeSent': urls[p['requestId']] = p['request']['url']
    elif method == 'Runtime.consoleAPICalled' and p['type'] in ('error', 'assert'):
        return 'console error: ' + ' '.join(str(a.get('value', a.get('description', ''))) for a in p['args'])
    elif method == 'Runtime.exceptionThrown':
        d = p['exceptionDetails']
        return f"exception: {d.get('exception', {}).get('description') or d['text']} ({d.get('url', '')}:{d.get('lineNumber', '')})"
    elif method == 'Log.entryAdded' and p['entry']['level'] == 'error' and p['entry']['source'] != 'network':
        return f"{p['entry']['source']} error: {p['entry']['text']}"  # (network errors come as Network events)
    elif method == 'Network.loadingFailed': return f"request failed ({p['errorText']}): {urls.get(p['requestId'], '?')}"
    elif method == 'Network.responseReceived' and p['response']['status'] >= 400:
        return f"HTTP {p['response']['status']}: {p['response']['url']}"


# What the page shows once its scripts have run: altair charts (containers named altair-viz-*) and math.
_STATE_JS = r"""(() => {
  const area = el => { const r = el && el.getBoundingClientRect(); return r ? r.width * r.height : 0; };
  const charts = [...document.querySelectorAll('[id^="altair-viz"]')].map(el => ({id: el.id,
    drawn: area(el.querySelector('svg, canvas')) > 0, text: (el.innerText || '').trim().slice(0, 300)}));
  const math = [...document.querySelectorAll('.math')];
  return {charts, math: math.length, mjx: document.querySelectorAll('mjx-container').length,
          untypeset: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80)),
          merror: [...document.querySelectorAll('mjx-merror')].map(el => el.textContent.slice(0, 80)),
          height: Math.ceil(document.documentElement.scrollHeight)};
})()"""
# Scroll a chart into view; its box as the reader sees it, in page coordinates (Page.captureScreenshot's clip).
_CHART_BOX_JS = r"""(() => {
  const el = document.getElementById(%s); el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height};
})()"""


def check_page(browser, url, shot):
    """Open `url` in a fresh tab and wait until its charts are drawn and its math typeset; screenshot the page to
    `shot` and each chart next to it. Returns whether it loaded, what it shows (`_STATE_JS`), and its problems."""
    target = browser.call('Target.createTarget', url='about:blank')['targetId']
    tab = browser.call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
    for domain in ('Page', 'Runtime', 'Log', 'Network'): browser.call(f'{domain}.enable', tab)
    browser.call('Emulation.setDeviceMetricsOverride', tab, width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
    browser.call('Page.navigate', tab, url=url)
    problems, urls, loaded, state = [], {}, False, None

    def drain(wait):
        "Take this tab's queued events; whether the page's load event was among them."
        load = False
        while True:
            try: ev = browser.events.get(timeout=wait)
            except queue.Empty: return load
            if ev.get('sessionId') != tab: continue
            load |= ev['method'] == 'Page.loadEventFired'
            if problem := _problem(ev, urls): problems.append(problem)

    deadline, changed = time.monotonic() + PAGE_TIMEOUT_S, time.monotonic()
    while time.monotonic() < min(deadline, changed + SETTLE_S):  # until done, or nothing changed for SETTLE_S
        loaded = drain(0.2) or loaded
        if not loaded: continue
        if (new := browser.evaluate(tab, _STATE_JS)) != state: state, changed = new, time.monotonic()
        if all(c['drawn'] for c in state['charts']) and not state['untypeset']: break
    if loaded:
        browser.evaluate(tab, 'document.fonts.ready.then(() => true)', awaitPromise=True)  # a font that fails is reported
        drain(0.3)
        def screenshot(path, box, whole_page=False):
            data = browser.call('Page.captureScreenshot', tab, format='png', captureBeyondViewport=whole_page,
                                clip={**box, 'scale': 1})['data']
            path.write_bytes(base64.b64decode(data))
        for i, chart in enumerate(c for c in state['charts'] if c['drawn']):
            screenshot(shot.with_name(f"{shot.stem}-chart{i + 1}.png"), browser.evaluate(tab, _CHART_BOX_JS % json.dumps(chart['id'])))
        screenshot(shot, {'x': 0, 'y': 0, 'width': WIDTH, 'height': min(state['height'], MAX_SHOT_HEIGHT)}, whole_page=True)
    browser.call('Target.closeTarget', targetId=target)
    return loaded, state, list(dict.fromkeys(problems))


def page_failures(page, html, loaded, state, problems):
    "One line per thing wrong with `page`, whose built HTML is `html`, as `check_page` saw it."
    if not loaded: return [f"{page}: did not finish loading within {PAGE_TIMEOUT_S} s"]
    out = [f"{page}: {p}" for p in problems]
    out += [f"{page}: altair chart #{c['id']} not drawn {c['text']!r}" for c in state['charts'] if not c['drawn']]
    if len(state['charts']) != html.count('vegaEmbed('):  # the check above must see every chart the page embeds
        out.append(f"{page}: {html.count('vegaEmbed(')} vegaEmbed calls but {len(state['charts'])} altair-viz containers")
    for what, found in (('math not typeset', state['untypeset']), ('TeX errors', state['merror'])):
        if found: out.append(f"{page}: {what} ({len(found)}): {', '.join(map(repr, found[:5]))}")
    return out


def test_every_page_renders_offline(book, tmp_path):
    if os.environ.get('PETRI_NO_BROWSER') == '1':
        pytest.skip('PETRI_NO_BROWSER=1: the book was built, but its pages were not opened in a browser')
    exe = chromium_path()
    assert exe, "chromium not found: install it (apt-get install chromium), or set PETRI_NO_BROWSER=1 to skip this test"
    shots = Path(os.environ.get('PETRI_ARTIFACTS') or ROOT / 'test-artifacts') / 'book'
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob('*.png'): old.unlink()
    browser, failures, summary = Chromium(exe, tmp_path / 'profile'), [], []
    try:
        for page in toc_pages():
            html = book / f"{page}.html"
            loaded, state, problems = check_page(browser, html.as_uri(), shots / f"{Path(page).name}.png")
            failures += page_failures(page, html.read_text(encoding='utf-8'), loaded, state, problems)
            if state: summary.append(f"{page}: {len(state['charts'])} charts, {state['mjx']} formulas")
    finally:
        browser.close()
    print('\n'.join(summary), f"\nscreenshots in {shots}")
    assert summary, "no page was checked"
    assert not failures, f"{len(failures)} problems in the rendered book (screenshots in {shots}):\n" + '\n'.join(failures)
