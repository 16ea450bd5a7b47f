// Connects noVNC to the server named in the URL and publishes its state on window.vnc
// for the test runner. ?noh264=1 hides WebCodecs before noVNC loads, so that noVNC does
// not offer H.264 and the server's Tight-JPEG path is what gets tested.
const params = new URLSearchParams(location.search);
if (params.get('noh264') === '1') {
    delete window.VideoDecoder;
}

window.vnc = { connected: false, disconnected: false, error: null, resizes: 0, rects: [],
               h264Frames: 0 };

// Which decoder painted what: every pixel rectangle noVNC decoded, in order, with its
// encoding (H.264 is 50, Tight 7), and how many pictures its H.264 decoder handed to the
// display. The runner proves from these that the final picture came from the decoder it
// expects, not from a fallback to another encoding. (Pseudo-encodings such as the cursor
// and the desktop size are not in _decoders.)
function instrument(rfb) {
    for (const [enc, dec] of Object.entries(rfb._decoders)) {
        const decodeRect = dec.decodeRect.bind(dec);
        dec.decodeRect = (x, y, width, height, sock, display, depth) => {
            const done = decodeRect(x, y, width, height, sock, display, depth);
            if (done)
                window.vnc.rects.push({ enc: Number(enc), x, y, width, height });
            return done;
        };
    }
    // Only the H.264 decoder hands the display video frames.
    const display = rfb._display;
    const videoFrame = display.videoFrame.bind(display);
    display.videoFrame = (...args) => {
        window.vnc.h264Frames++;
        return videoFrame(...args);
    };
}

try {
    const { default: RFB } = await import('/novnc/core/rfb.js');
    // ?tls=1: wss:// to the same port (the server recognises TLS from the first byte);
    // ?password=...: answer VNC authentication.
    const scheme = params.get('tls') === '1' ? 'wss' : 'ws';
    const options = params.get('password') ? { credentials: { password: params.get('password') } } : {};
    const rfb = new RFB(document.getElementById('screen'), `${scheme}://127.0.0.1:${params.get('port')}`,
                        options);
    rfb.scaleViewport = false;
    rfb.resizeSession = false;
    rfb.qualityLevel = Number(params.get('quality') || 6);
    rfb.compressionLevel = 2;
    instrument(rfb);
    rfb.addEventListener('connect', () => { window.vnc.connected = true; });
    rfb.addEventListener('disconnect', (e) => {
        window.vnc.disconnected = true;
        window.vnc.clean = e.detail.clean;
    });
    window.vnc.rfb = rfb;
} catch (e) {
    window.vnc.error = String(e && e.stack || e);
}

// The framebuffer as noVNC shows it: the canvas inside the screen element.
window.vncPixels = () => {
    const canvas = document.querySelector('#screen canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const rects = window.vnc.rects;
    return { width: canvas.width, height: canvas.height, data: Array.from(img.data),
             h264Frames: window.vnc.h264Frames, nRects: rects.length,
             tail: rects.slice(-8) };
};

// The cursor shape noVNC received (its cursor canvas) and its hotspot.
window.vncCursor = () => {
    const cur = window.vnc.rfb._cursor;
    const c = cur._canvas;
    if (!c.width || !c.height)
        return { width: 0, height: 0 };
    const img = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, hotX: cur._hotSpot.x, hotY: cur._hotSpot.y,
             data: Array.from(img.data), css: document.querySelector('#screen canvas').style.cursor };
};
