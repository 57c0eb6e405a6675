"""Draws Latchkey's source icon (icons/icon-source.png, 1024x1024) with the standard library only.

A keyhole on a rounded indigo square. Run it again only to change the design, then
`cargo xtask bundle --icons`: every size the bundler needs (32x32.png … icon.png, icon.ico,
icon.icns) is derived from this one image by `tauri icon` (the npm CLI in tools/tauri-cli)."""
import math, struct, zlib, sys

N = 1024

def inside_rounded(x, y, r=200, m=40):
    lo, hi = m, N - m
    if x < lo or x > hi or y < lo or y > hi:
        return False
    cx = min(max(x, lo + r), hi - r)
    cy = min(max(y, lo + r), hi - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

def keyhole(x, y):
    # circle head + trapezoid stem
    if (x - 512) ** 2 + (y - 420) ** 2 <= 150 ** 2:
        return True
    if 440 <= y <= 780:
        half = 60 + (y - 440) * 0.18
        return abs(x - 512) <= half
    return False

def pixel(x, y):
    # 2x2 supersampling for smooth edges
    acc = [0, 0, 0, 0]
    for dx in (0.25, 0.75):
        for dy in (0.25, 0.75):
            px, py = x + dx, y + dy
            if not inside_rounded(px, py):
                continue
            if keyhole(px, py):
                c = (250, 250, 255)
            else:
                t = py / N
                c = (int(79 - 30 * t), int(70 - 20 * t), int(229 - 60 * t))
            acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
    if acc[3] == 0:
        return (0, 0, 0, 0)
    k = acc[3] / 255
    return (int(acc[0] / k), int(acc[1] / k), int(acc[2] / k), int(acc[3] / 4))

def write_png(path, size):
    step = N / size
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            row.extend(pixel(int(i * step), int(j * step)))
        rows.append(bytes(row))
    raw = b"".join(rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "icons/icon-source.png"
    write_png(out, N)
