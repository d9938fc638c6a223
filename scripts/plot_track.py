#!/usr/bin/env python3
"""Draws one contig of a bedGraph as an SVG line plot (the README picture; no packages needed).

    scripts/plot_track.py track.bedgraph CONTIG "title" > plot.svg

Values are drawn per base as a step line, with gaps where the track has no record (N runs).
"""
import math
import sys

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 900, 260, 60, 20, 34, 40


def records(path, contig):
    for line in open(path):
        fields = line.split("\t")
        if len(fields) >= 4 and fields[0] == contig:
            yield int(fields[1]), int(fields[2]), float(fields[3])


def main():
    path, contig, title = sys.argv[1:4]
    rows = list(records(path, contig))
    if not rows:
        sys.exit(f"plot_track.py: no records for {contig} in {path}")
    begin, end = rows[0][0], rows[-1][1]
    low, high = min(r[2] for r in rows), max(r[2] for r in rows)
    uniform = -1.386  # ln 1/4: the value of a uniform guess, drawn for reference
    pad = 0.08 * (max(high, uniform) - min(low, uniform))
    low, high = min(low, uniform) - pad, max(high, uniform) + pad
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if (high - low) / s <= 6)
    x = lambda base: LEFT + (base - begin) / (end - begin) * (WIDTH - LEFT - RIGHT)
    y = lambda value: TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM)
    paths, current, last_end = [], [], None
    for b, e, v in rows:
        if last_end is not None and b != last_end:
            paths.append(current)
            current = []
        current += [f"{x(b):.1f},{y(v):.1f}", f"{x(e):.1f},{y(v):.1f}"]
        last_end = e
    paths.append(current)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="14">{title}</text>']
    for tick in range(math.ceil(low / step), math.floor(high / step) + 1):
        value = tick * step
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y(value) + 4:.1f}" text-anchor="end">{value:g}</text>')
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(uniform):.1f}" y2="{y(uniform):.1f}" '
               f'stroke="#c33" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{WIDTH - RIGHT}" y="{y(uniform) - 4:.1f}" text-anchor="end" fill="#c33">'
               f'uniform guess, ln 1/4</text>')
    for points in paths:
        out.append(f'<polyline fill="none" stroke="#2a6" stroke-width="0.8" points="{" ".join(points)}"/>')
    for i in range(5):
        base = begin + (end - begin) * i // 4
        out.append(f'<text x="{x(base):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{base:,}</text>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
               f'{contig} position (0-based)</text>')
    out.append(f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2})">log-likelihood (nats)</text>')
    out.append("</svg>")
    print("\n".join(out))


if __name__ == "__main__":
    main()
