// The browser test: noVNC 1.7.0 (from npm) in Debian's headless Chromium, connected over
// WebSocket to the real vgpu-vnc binary on the synthetic vGPU. It reads the pixels back
// from noVNC's canvas and compares them with what the synthetic source shows (ref_dump).
//
//   node novnc_check.mjs VGPU_VNC REF_DUMP CASE
//
// Cases: h264, tight-jpeg (noVNC with WebCodecs hidden, so it cannot offer H.264),
// resize (the modes scene, over H.264), cursor (the cursor shape noVNC received), wss
// (TLS: --tls-cert on 0.0.0.0 with a password, noVNC over wss:// to the same port, the
// test certificate trusted through Chromium's SPKI list; Tight-JPEG pixels compared).
// Exit 0 = pass, 1 = fail, 77 = skipped (Chromium or the npm packages are missing).
import { spawn, execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [, , serverBin, refDump, caseName] = process.argv;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SKIP = 77;

function skip(why) {
    console.log(`novnc_check: SKIPPED ${caseName}: ${why}`);
    process.exit(SKIP);
}

if (!existsSync(CHROMIUM))
    skip(`no Chromium at ${CHROMIUM} (scripts/deps.sh --test installs Debian's chromium)`);
if (!existsSync(join(here, 'node_modules/@novnc/novnc/core/rfb.js')) ||
    !existsSync(join(here, 'node_modules/playwright-core')))
    skip('npm packages missing in tests/browser (scripts/deps.sh --test runs npm ci there)');
const { chromium } = await import('playwright-core');

// What each case runs. Tolerances: H.264 at noVNC's default quality is lossy, so PSNR;
// Tight-JPEG at quality 9 is close, so mean and max error per channel. A stale picture can
// meet either (tick 0 of the desktop is 42 dB from tick 30), so the scenes stamp their tick
// (stamp=on, see vfio/synthetic.h): the runner waits until the canvas shows the last tick
// and compares with that tick's reference. `encoding` is the one noVNC's own decoders must
// have painted the final picture with (50 = H.264, 7 = Tight).
const CASES = {
    'h264': { spec: '640x480:desktop:frames=150,stamp=on', tick: 150, noh264: false,
              path: 'Open H.264', encoding: 50, check: 'psnr', minPsnr: 30 },
    'tight-jpeg': { spec: '640x480:desktop:frames=150,stamp=on', tick: 150, noh264: true,
                    quality: 9, path: 'Tight-JPEG', encoding: 7, check: 'error', maxMean: 3,
                    maxError: 48 },
    'resize': { spec: '320x240:modes:frames=70,stamp=on', tick: 70, noh264: false,
                path: 'Open H.264', encoding: 50, check: 'psnr', minPsnr: 30 },
    'cursor': { spec: '320x240:desktop:frames=10', tick: 10, noh264: true, quality: 9,
                check: 'cursor' },
    'wss': { spec: '640x480:desktop:frames=150,stamp=on', tick: 150, noh264: true,
             quality: 9, path: 'Tight-JPEG', encoding: 7, check: 'error', maxMean: 3,
             maxError: 48, tls: true },
};
const cfg = CASES[caseName];
if (!cfg) {
    console.error(`novnc_check: unknown case '${caseName}' (${Object.keys(CASES).join(', ')})`);
    process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'novnc-check-'));
let server, http, browser, serverLog = '';

function fail(msg) {
    console.log(`novnc_check: FAIL ${caseName}: ${msg}`);
    console.log('---- server log (tail) ----');
    console.log(serverLog.split('\n').slice(-40).join('\n'));
    throw new Error(msg);
}

// wss: test certificates (tests/tls/make_certs.sh), a password, and the address other
// than loopback where only encrypted connections are let in.
const TLS_PASSWORD = 'wss-pw-1';
function makeCerts() {
    try {
        execFileSync('sh', [join(here, '../tls/make_certs.sh'), join(tmp, 'certs')]);
    } catch (e) {
        skip('cannot make the test certificates (certtool from gnutls-bin)');
    }
}

function tlsArgs() {
    if (!cfg.tls)
        return [];
    writeFileSync(join(tmp, 'pw'), TLS_PASSWORD + '\n', { mode: 0o600 });
    return ['--listen', 'tcp:0.0.0.0:0', '--password-file', join(tmp, 'pw'),
            '--tls-cert', join(tmp, 'certs/server1.pem'), '--tls-key', join(tmp, 'certs/server1.key')];
}

// Chromium trusts the server's key by its SPKI hash (base64 SHA-256), for this run only.
function spkiHash() {
    const cert = new X509Certificate(readFileSync(join(tmp, 'certs/server1.pem')));
    const der = cert.publicKey.export({ type: 'spki', format: 'der' });
    return createHash('sha256').update(der).digest('base64');
}

// The server on a free port; resolves with the port from its log.
function startServer() {
    return new Promise((resolve, reject) => {
        const listen = cfg.tls ? tlsArgs() : ['--listen', 'tcp:127.0.0.1:0'];
        server = spawn(serverBin, ['--source', `synthetic:${cfg.spec}`, ...listen,
                                   '--log-level', 'debug'],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
        const timer = setTimeout(() => reject(new Error('server did not listen in 30 s')), 30000);
        server.stderr.on('data', (d) => {
            serverLog += d.toString();
            const m = serverLog.match(/listening on tcp:(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)/);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        });
        server.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
    });
}

// A static server for the page and noVNC's modules (ES modules need http, not file:).
function startHttp() {
    const roots = { '/novnc/': join(here, 'node_modules/@novnc/novnc/'), '/': here + '/' };
    const types = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json' };
    http = createServer((req, res) => {
        const url = new URL(req.url, 'http://x').pathname;
        const prefix = url.startsWith('/novnc/') ? '/novnc/' : '/';
        const file = normalize(join(roots[prefix], url.slice(prefix.length)));
        if (!file.startsWith(roots[prefix]) || !existsSync(file)) {
            res.writeHead(404).end();
            return;
        }
        const ext = file.slice(file.lastIndexOf('.'));
        res.writeHead(200, { 'Content-Type': types[ext] || 'application/octet-stream' });
        res.end(readFileSync(file));
    });
    return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(http.address().port)));
}

function readDump(kind) {
    const out = join(tmp, `${kind}.bin`);
    execFileSync(refDump, [kind, cfg.spec, String(cfg.tick), out]);
    const buf = readFileSync(out);
    const nl = buf.indexOf(10);
    const head = buf.subarray(0, nl).toString().split(' ').map(Number);
    return { head, data: buf.subarray(nl + 1) };
}

// Compare noVNC's canvas (RGBA) with the reference (RGB).
function compare(got, ref) {
    const [w, h] = ref.head;
    if (got.width !== w || got.height !== h)
        return { sizeOk: false, text: `canvas ${got.width}x${got.height}, source ${w}x${h}` };
    let sq = 0, sum = 0, max = 0;
    for (let i = 0, j = 0; j < ref.data.length; i += 4, j += 3) {
        for (let k = 0; k < 3; k++) {
            const d = Math.abs(got.data[i + k] - ref.data[j + k]);
            sq += d * d;
            sum += d;
            if (d > max)
                max = d;
        }
    }
    const n = w * h * 3;
    const mse = sq / n;
    const psnr = mse === 0 ? Infinity : 10 * Math.log10(255 * 255 / mse);
    return { sizeOk: true, psnr, mean: sum / n, max,
             text: `PSNR ${psnr.toFixed(1)} dB, mean error ${(sum / n).toFixed(2)}, max ${max}` };
}

// The tick in the picture's stamp (synthetic.h: 16 bits, least significant first, 4 to a
// row of 16x16 blocks at the bottom left on the 16-pixel grid), or null if unreadable:
// each block's mean over its middle 8x8, black below 64, white above 191.
function readStamp(got) {
    const B = 16, COLS = 4, BITS = 16, side = B * COLS;
    const { width: w, height: h, data } = got;
    if (w < side || h < side)
        return null;
    const y0 = Math.floor((h - side) / B) * B;
    let tick = 0;
    for (let i = 0; i < BITS; i++) {
        const bx = (i % COLS) * B + B / 4, by = y0 + Math.floor(i / COLS) * B + B / 4;
        let sum = 0, n = 0;
        for (let y = by; y < by + B / 2; y++)
            for (let x = bx; x < bx + B / 2; x++)
                for (let k = 0; k < 3; k++, n++)
                    sum += data[(y * w + x) * 4 + k];
        const mean = sum / n;
        if (mean > 191)
            tick |= 1 << i;
        else if (mean >= 64)
            return null;
    }
    return tick;
}

function path(c) {
    return c.path;
}

function good(r) {
    if (!r.sizeOk)
        return false;
    if (cfg.check === 'psnr')
        return r.psnr >= cfg.minPsnr;
    return r.mean <= cfg.maxMean && r.max <= cfg.maxError;
}

async function run() {
    // The browser first: the scene's clock runs from the server's start, and the scene
    // should still be moving when noVNC connects.
    const httpPort = await startHttp();
    if (cfg.tls)
        makeCerts(); // the browser trusts the server's key from its start
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync',
               ...(cfg.tls ? [`--ignore-certificate-errors-spki-list=${spkiHash()}`] : [])],
    });
    const page = await browser.newPage();
    const vncPort = await startServer();
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    let q = `port=${vncPort}&noh264=${cfg.noh264 ? 1 : 0}&quality=${cfg.quality ?? 6}`;
    if (cfg.tls)
        q += `&tls=1&password=${TLS_PASSWORD}`;
    await page.goto(`http://127.0.0.1:${httpPort}/page.html?${q}`);
    await page.waitForFunction(() => window.vnc && (window.vnc.connected || window.vnc.error),
                               null, { timeout: 30000 });
    const err = await page.evaluate(() => window.vnc.error);
    if (err)
        fail(`noVNC did not load: ${err}`);

    if (cfg.check === 'cursor')
        return checkCursor(page);

    // The scene stops at its last tick; wait until the canvas shows it (its stamp), then
    // compare with that tick's reference. A missed last update never shows it.
    const ref = readDump('frame');
    const want = cfg.tick & 0xffff;
    let got = null, seen = null;
    const deadline = Date.now() + 45000;
    while (Date.now() < deadline) {
        got = await page.evaluate(() => window.vncPixels());
        seen = readStamp(got);
        if (seen === want)
            break;
        await new Promise((res) => setTimeout(res, 100));
    }
    if (seen !== want)
        fail(`the canvas never showed the last tick ${want} within 45 s: it shows ` +
             `${seen === null ? 'no readable stamp' : `tick ${seen}`}\n` +
             consoleLines.slice(-10).join('\n'));
    const r = compare(got, ref);
    if (!good(r))
        fail(`the canvas of tick ${want} does not match the source: ${r.text}\n` +
             consoleLines.slice(-10).join('\n'));
    // Client side: noVNC's own decoder for the expected encoding painted the final picture:
    // the last pixel rectangle came from it and covered the whole canvas (nothing painted
    // over it since by another encoding), and for H.264 its decoder handed the display
    // pictures.
    const last = got.tail[got.tail.length - 1];
    const other = got.tail.filter((t) => t.enc !== cfg.encoding);
    if (!last || last.enc !== cfg.encoding)
        fail(`the last rectangle noVNC decoded was encoding ${last ? last.enc : 'none'}, ` +
             `not ${cfg.encoding} (${path(cfg)}); the last ones: ${JSON.stringify(got.tail)}`);
    if (cfg.encoding === 50 && (last.x !== 0 || last.y !== 0 || last.width !== got.width ||
                                last.height !== got.height))
        fail(`the last H.264 rectangle ${last.width}x${last.height}+${last.x}+${last.y} is ` +
             `not the whole ${got.width}x${got.height} canvas`);
    if (cfg.encoding === 50 && (got.h264Frames === 0 || other.length))
        fail(`H.264: ${got.h264Frames} pictures from noVNC's H.264 decoder; other encodings ` +
             `among the last rectangles: ${JSON.stringify(other)}`);
    if (!serverLog.includes(`updates now through ${cfg.path}`))
        fail(`the server did not serve noVNC through ${cfg.path}`);
    if (cfg.tls && !/client \S+: TLS \(TLS1\.[23]\)[\s\S]*connected over WebSocket[\s\S]*password accepted/.test(serverLog))
        fail('the server log does not show TLS, then WebSocket, then the password');
    if (caseName === 'resize' && !/display mode 320x240[\s\S]*display mode (?!320x240)/.test(serverLog))
        fail('the modes scene never changed mode');
    console.log(`novnc_check: PASS ${caseName}: tick ${want}, ${r.text} (through ${cfg.path}${cfg.tls ? ' over wss://' : ''}; ` +
                `noVNC decoded ${got.nRects} rectangles, ${got.h264Frames} H.264 pictures, ` +
                `the last one encoding ${last.enc})`);
    // The README's picture: what noVNC shows, taken from the checked canvas on demand.
    if (process.env.VGPU_SCREENSHOT)
        await page.locator('canvas').first().screenshot({ path: process.env.VGPU_SCREENSHOT });
}

async function checkCursor(page) {
    const ref = readDump('cursor');
    const [w, h, hx, hy] = ref.head;
    let got = { width: 0 };
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && got.width === 0) {
        got = await page.evaluate(() => window.vncCursor());
        if (got.width === 0)
            await new Promise((res) => setTimeout(res, 200));
    }
    if (got.width !== w || got.height !== h || got.hotX !== hx || got.hotY !== hy)
        fail(`cursor ${got.width}x${got.height} hotspot ${got.hotX},${got.hotY}; ` +
             `the plane is ${w}x${h} hotspot ${hx},${hy}`);
    // RichCursor carries a 1-bit mask: opaque where the plane's alpha >= 128.
    for (let i = 0; i < w * h; i++) {
        const a = ref.data[i * 4 + 3], ga = got.data[i * 4 + 3];
        const opaque = a >= 128;
        if ((ga !== 0) !== opaque)
            fail(`cursor pixel ${i % w},${Math.floor(i / w)}: alpha ${ga}, plane alpha ${a}`);
        if (opaque && [2, 1, 0].some((c, k) => got.data[i * 4 + k] !== ref.data[i * 4 + c]))
            fail(`cursor pixel ${i % w},${Math.floor(i / w)}: colour differs`);
    }
    if (!/^url\("?data:image\/png/.test(got.css))
        fail(`noVNC did not install the cursor on its canvas (style.cursor '${got.css}')`);
    console.log(`novnc_check: PASS cursor: ${w}x${h} hotspot ${hx},${hy}, shape and mask equal`);
}

let status = 0;
try {
    await run();
} catch (e) {
    if (!String(e.message).startsWith('novnc_check'))
        console.log(`novnc_check: FAIL ${caseName}: ${e.message}`);
    status = 1;
} finally {
    if (browser)
        await browser.close().catch(() => {});
    if (http)
        http.close();
    if (server && server.exitCode === null) {
        const exited = new Promise((res) => server.on('exit', (code, sig) => res([code, sig])));
        server.kill('SIGTERM');
        const [code, sig] = await exited;
        if (code !== 0) {
            console.log(`novnc_check: FAIL ${caseName}: server exit ${code} ${sig || ''} on SIGTERM`);
            status = 1;
        }
    }
    rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
