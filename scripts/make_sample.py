"""Draws examples/images/sample.png: a small synthetic landscape with smooth gradients, hard
edges, fine texture, saturated colours and a semi-transparent corner, so every effect has
something to show. Run once; the PNG is committed."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

W, H = 512, 384
rng = np.random.default_rng(20261122)
y, x = np.mgrid[0:H, 0:W].astype(np.float32)

sky = np.zeros((H, W, 3), np.float32)
t = y / H
sky[..., 0] = 40 + 180 * t
sky[..., 1] = 80 + 120 * t
sky[..., 2] = 190 - 40 * t
img = sky

# Sun with a glow.
d = np.hypot(x - 370, y - 110)
glow = np.clip(1 - d / 160, 0, 1) ** 2
img += glow[..., None] * np.array([255, 170, 60]) * 0.6
img[d < 38] = [255, 236, 180]

def ridge(base, amp, freq, seed):
    r = np.random.default_rng(seed)
    xs = np.arange(W, dtype=np.float32)
    h = np.full(W, base, np.float32)
    for k in range(1, 7):
        h += amp / k * np.sin(xs * freq * k / W * 2 * np.pi + r.uniform(0, 6.28))
    return h

for base, amp, freq, col, seed in [(230, 28, 1.5, (70, 60, 110), 1), (270, 22, 2.5, (40, 70, 60), 2), (300, 10, 4, (25, 45, 30), 3)]:
    h = ridge(base, amp, freq, seed)
    mask = y > h[None, :]
    shade = 0.85 + 0.15 * rng.random((H, W)).astype(np.float32)
    img[mask] = (np.array(col) * shade[..., None])[mask]

# Lake with reflection and ripples.
lake = y > 330
ripple = 0.8 + 0.2 * np.sin(y * 1.7 + np.sin(x * 0.05) * 3)
refl = img[np.clip(660 - y.astype(int), 0, H - 1), x.astype(int)]
img[lake] = (refl * 0.6 * ripple[..., None] + np.array([20, 40, 70]) * 0.4)[lake]

im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGBA")
dr = ImageDraw.Draw(im)
# Trees: hard edges.
for tx in range(20, 200, 23):
    th = 40 + (tx * 7) % 30
    dr.polygon([(tx, 330), (tx + 10, 330 - th), (tx + 20, 330)], fill=(18, 50, 28, 255))
# A red barn with a white door and fine grille.
dr.rectangle([300, 285, 360, 330], fill=(170, 30, 30, 255))
dr.polygon([(295, 285), (330, 262), (365, 285)], fill=(120, 20, 20, 255))
dr.rectangle([320, 305, 340, 330], fill=(240, 240, 235, 255))
for gx in range(321, 340, 3):
    dr.line([(gx, 305), (gx, 330)], fill=(90, 90, 90, 255))
# Text-like high-frequency detail.
for i in range(12):
    dr.text((10 + i * 40, 10), "fx%02d" % i, fill=(255, 255, 255, 255))
im = im.filter(ImageFilter.SMOOTH_MORE) if False else im
# Fade the top-left corner to transparent (alpha handling).
a = np.array(im)
alpha = np.clip(np.hypot(x, y) / 90, 0, 1)
a[..., 3] = (a[..., 3] * alpha).astype(np.uint8)
Image.fromarray(a).save("examples/images/sample.png", optimize=True)
print("wrote examples/images/sample.png")
