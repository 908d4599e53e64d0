//! A tiny raster plotter and PNG writer: line charts with a 5x7 bitmap font, written as an
//! 8-bit palette PNG compressed with fixed-Huffman deflate (runs only). No dependencies.

/// Palette: white, black, grey, light grey, then the series colours.
pub const PALETTE: [[u8; 3]; 8] = [
    [255, 255, 255],
    [0, 0, 0],
    [110, 110, 110],
    [225, 225, 225],
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
];
/// Background.
pub const WHITE: u8 = 0;
/// Text and axes.
pub const BLACK: u8 = 1;
/// Secondary text.
pub const GREY: u8 = 2;
/// Grid lines.
pub const LIGHT: u8 = 3;
/// Series colours.
pub const SERIES: [u8; 4] = [4, 5, 6, 7];

/// An indexed-colour image.
#[derive(Debug, Clone)]
pub struct Canvas {
    /// Width in pixels.
    pub w: usize,
    /// Height in pixels.
    pub h: usize,
    px: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(w: usize, h: usize) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![WHITE; w * h],
        }
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn set(&mut self, x: i64, y: i64, c: u8) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.px[y as usize * self.w + x as usize] = c;
        }
    }

    /// The colour at a pixel.
    #[cfg(test)]
    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.px[y * self.w + x]
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: u8) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    /// A line `width` pixels thick; `dash` > 0 draws `dash` on, `dash` off.
    pub fn line(
        &mut self,
        (x0, y0): (f64, f64),
        (x1, y1): (f64, f64),
        c: u8,
        width: i64,
        dash: usize,
    ) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=steps {
            if dash > 0 && (i / dash) % 2 == 1 {
                continue;
            }
            let t = i as f64 / steps as f64;
            let x = (x0 + (x1 - x0) * t).round() as i64;
            let y = (y0 + (y1 - y0) * t).round() as i64;
            let off = (width - 1) / 2;
            self.rect(x - off, y - off, width, width, c);
        }
    }

    /// A square marker centred on a point; hollow draws only its outline.
    pub fn marker(&mut self, (x, y): (f64, f64), c: u8, hollow: bool) {
        let (x, y) = (x.round() as i64, y.round() as i64);
        self.rect(x - 4, y - 4, 9, 9, c);
        if hollow {
            self.rect(x - 2, y - 2, 5, 5, WHITE);
        }
    }

    /// Text in the 5x7 font at `scale`, top-left at (x, y). Lower case is drawn as upper case.
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: u8, scale: i64) {
        let mut cx = x;
        for ch in s.chars() {
            let g = glyph(ch.to_ascii_uppercase());
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.rect(cx + col * scale, y + row as i64 * scale, scale, scale, c);
                    }
                }
            }
            cx += 6 * scale;
        }
    }

    /// Text rotated a quarter turn anticlockwise (reads bottom to top), its baseline at `x`.
    pub fn text_up(&mut self, x: i64, y: i64, s: &str, c: u8, scale: i64) {
        let mut cy = y;
        for ch in s.chars() {
            let g = glyph(ch.to_ascii_uppercase());
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        self.rect(x + row as i64 * scale, cy - col * scale, scale, scale, c);
                    }
                }
            }
            cy -= 6 * scale;
        }
    }

    /// Width in pixels of `s` at `scale`.
    pub fn text_width(s: &str, scale: i64) -> i64 {
        s.chars().count() as i64 * 6 * scale
    }

    /// The image as PNG bytes.
    pub fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity((self.w + 1) * self.h);
        for row in self.px.chunks(self.w) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&(self.w as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.h as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 3, 0, 0, 0]); // 8-bit palette, deflate, no interlace
        chunk(&mut out, b"IHDR", &ihdr);
        let plte: Vec<u8> = PALETTE.iter().flatten().copied().collect();
        chunk(&mut out, b"PLTE", &plte);
        chunk(&mut out, b"IDAT", &zlib(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO-HDLC), as PNG chunks need.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Adler-32, the zlib trailer.
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// LSB-first bit writer for deflate.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which deflate stores most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        let rev = code.reverse_bits() >> (32 - len);
        self.put(rev, len);
    }

    fn literal(&mut self, sym: u32) {
        match sym {
            0..=143 => self.code(0x30 + sym, 8),
            144..=255 => self.code(0x190 + sym - 144, 9),
            256..=279 => self.code(sym - 256, 7),
            _ => self.code(0xc0 + sym - 280, 8),
        }
    }

    /// A match of `len` (3..=258) bytes at distance 1.
    fn run(&mut self, len: u32) {
        const BASE: [u32; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        const EXTRA: [u32; 29] = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ];
        let i = BASE.iter().rposition(|&b| b <= len).unwrap_or(0);
        self.literal(257 + i as u32);
        self.put(len - BASE[i], EXTRA[i]);
        self.code(0, 5); // distance code 0: distance 1
    }
}

/// A zlib stream of `data`: one fixed-Huffman block whose only matches are runs of the
/// previous byte (plots are mostly runs of one colour).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    let mut i = 0;
    while i < data.len() {
        let v = data[i];
        b.literal(u32::from(v));
        let mut run = 0;
        while i + 1 + run < data.len() && data[i + 1 + run] == v && run < 258 {
            run += 1;
        }
        if run >= 3 {
            b.run(run as u32);
        } else {
            for _ in 0..run {
                b.literal(u32::from(v));
            }
        }
        i += 1 + run;
    }
    b.literal(256);
    if b.n > 0 {
        b.put(0, 8 - b.n);
    }
    let mut out = b.out;
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn glyph(c: char) -> [u8; 7] {
    match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '<' => [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        '\'' => [0x0C, 0x04, 0x08, 0, 0, 0, 0],
        '*' => [0, 0x04, 0x15, 0x0E, 0x15, 0x04, 0],
        '^' => [0x04, 0x0A, 0x11, 0, 0, 0, 0],
        _ => [0; 7],
    }
}

/// One line of a chart: points (x in data units) and how to draw them.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Colour index.
    pub color: u8,
    /// Dashed line.
    pub dashed: bool,
    /// Points, x ascending.
    pub points: Vec<(f64, f64)>,
    /// An extra point drawn (hollow) at the "adaptive" position right of the axis.
    pub adaptive: Option<f64>,
}

/// A chart panel: log-scale x (grace seconds), linear y from 0.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// A horizontal reference line (e.g. a target) and its label.
    pub reference: Option<(f64, String)>,
    /// Top of the y axis; points above it are drawn at the top with their value.
    pub y_max: Option<f64>,
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * e {
            return m * e;
        }
    }
    10.0 * e
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// Draws `panel` into the rectangle at (x, y) of size (w, h), x from `x_min` to `x_max`
/// seconds on a log scale, with an "adaptive" slot to the right.
pub fn draw_panel(
    c: &mut Canvas,
    (x, y, w, h): (i64, i64, i64, i64),
    panel: &Panel,
    x_ticks: &[f64],
) {
    let (x_min, x_max) = (x_ticks[0], x_ticks[x_ticks.len() - 1]);
    // Plot area inside the panel.
    let (left, top) = (x + 70, y + 40);
    let (pw, ph) = (w - 90, h - 130);
    let slot = 50; // the adaptive column
    let axis_w = pw - slot;
    let y_top = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1).chain(s.adaptive))
        .chain(panel.reference.iter().map(|r| r.0))
        .fold(0.0f64, f64::max);
    let y_max = panel.y_max.unwrap_or_else(|| nice_max(y_top * 1.05));
    let xp =
        |v: f64| left as f64 + (v.ln() - x_min.ln()) / (x_max.ln() - x_min.ln()) * axis_w as f64;
    let yp = |v: f64| (top + ph) as f64 - v.min(y_max) / y_max * ph as f64;
    c.text(x + 10, y + 8, &panel.title, BLACK, 2);
    // Grid and y ticks.
    for i in 0..=5 {
        let v = y_max * f64::from(i) / 5.0;
        let yy = yp(v);
        c.line((left as f64, yy), ((left + pw) as f64, yy), LIGHT, 1, 0);
        let label = fmt_tick(v);
        c.text(
            left - 8 - Canvas::text_width(&label, 1),
            yy as i64 - 3,
            &label,
            GREY,
            1,
        );
    }
    for &t in x_ticks {
        let xx = xp(t);
        c.line((xx, top as f64), (xx, (top + ph) as f64), LIGHT, 1, 0);
        let label = fmt_tick(t);
        c.text(
            xx as i64 - Canvas::text_width(&label, 1) / 2,
            top + ph + 8,
            &label,
            GREY,
            1,
        );
    }
    let ax = (left + axis_w + slot / 2) as f64;
    c.text(ax as i64 - 9, top + ph + 8, "AD.", GREY, 1);
    // Axes.
    c.line(
        (left as f64, top as f64),
        (left as f64, (top + ph) as f64),
        BLACK,
        1,
        0,
    );
    c.line(
        (left as f64, (top + ph) as f64),
        ((left + pw) as f64, (top + ph) as f64),
        BLACK,
        1,
        0,
    );
    c.line(
        ((left + axis_w) as f64, top as f64),
        ((left + axis_w) as f64, (top + ph) as f64),
        GREY,
        1,
        3,
    );
    c.text(
        left + axis_w / 2 - Canvas::text_width("GRACE WINDOW (S, LOG SCALE)", 1) / 2,
        top + ph + 22,
        "grace window (s, log scale)",
        BLACK,
        1,
    );
    c.text_up(
        x + 8,
        top + ph / 2 + Canvas::text_width(&panel.y_label, 1) / 2,
        &panel.y_label,
        BLACK,
        1,
    );
    if let Some((v, label)) = &panel.reference {
        let yy = yp(*v);
        c.line((left as f64, yy), ((left + pw) as f64, yy), BLACK, 1, 4);
        c.text(left + 6, yy as i64 - 10, label, BLACK, 1);
    }
    // Series and legend.
    for (i, s) in panel.series.iter().enumerate() {
        let width = 2;
        for pair in s.points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            c.line(
                (xp(a.0), yp(a.1)),
                (xp(b.0), yp(b.1)),
                s.color,
                width,
                if s.dashed { 6 } else { 0 },
            );
        }
        for p in &s.points {
            c.marker((xp(p.0), yp(p.1)), s.color, false);
            if p.1 > y_max {
                // Off the scale: the value, left of the marker for even series, right for odd.
                let label = fmt_tick(p.1.round());
                let w = Canvas::text_width(&label, 1);
                let lx = if i % 2 == 0 {
                    xp(p.0) as i64 - w - 7
                } else {
                    xp(p.0) as i64 + 7
                };
                c.text(lx, top - 3, &label, s.color, 1);
            }
        }
        if let Some(v) = s.adaptive {
            c.marker((ax, yp(v)), s.color, true);
        }
        let ly = top + ph + 40 + i as i64 * 16;
        c.rect(left, ly, 18, 3, s.color);
        c.marker(((left + 9) as f64, (ly + 1) as f64), s.color, false);
        c.text(left + 26, ly - 3, &s.label, BLACK, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal inflate for what [`zlib`] writes (one fixed-Huffman block), to check it.
    fn inflate_fixed(z: &[u8]) -> Vec<u8> {
        assert_eq!(&z[..2], &[0x78, 0x01]);
        let data = &z[2..z.len() - 4];
        let mut pos = 0usize;
        let mut bit = |n: u32| -> u32 {
            let mut v = 0;
            for i in 0..n {
                let b = (data[pos / 8] >> (pos % 8)) & 1;
                v |= u32::from(b) << i;
                pos += 1;
            }
            v
        };
        assert_eq!(bit(1), 1);
        assert_eq!(bit(2), 1);
        let mut out: Vec<u8> = Vec::new();
        let read_code = |bit: &mut dyn FnMut(u32) -> u32| -> u32 {
            // Read MSB-first up to 9 bits and decode the fixed literal/length code.
            let mut code = 0;
            for len in 1..=9 {
                code = (code << 1) | bit(1);
                match len {
                    7 if code <= 0x17 => return code + 256,
                    8 if (0x30..=0xbf).contains(&code) => return code - 0x30,
                    8 if (0xc0..=0xc7).contains(&code) => return code - 0xc0 + 280,
                    9 if (0x190..=0x1ff).contains(&code) => return code - 0x190 + 144,
                    _ => {}
                }
            }
            panic!("bad code");
        };
        const BASE: [u32; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        const EXTRA: [u32; 29] = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ];
        loop {
            let sym = read_code(&mut bit);
            match sym {
                0..=255 => out.push(sym as u8),
                256 => break,
                _ => {
                    let i = (sym - 257) as usize;
                    let len = BASE[i] + bit(EXTRA[i]);
                    let mut d = 0;
                    for _ in 0..5 {
                        d = (d << 1) | bit(1);
                    }
                    assert_eq!(d, 0, "only distance 1 is written");
                    let last = *out.last().expect("a run follows a literal");
                    for _ in 0..len {
                        out.push(last);
                    }
                }
            }
        }
        let want = u32::from_be_bytes(z[z.len() - 4..].try_into().expect("4 bytes"));
        assert_eq!(adler32(&out), want);
        out
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn zlib_round_trips() {
        let mut data = vec![0u8; 10];
        data.extend(core::iter::repeat_n(7u8, 1_000));
        data.extend([1, 2, 3, 3, 3, 3, 4, 255, 255, 144, 143, 0]);
        data.extend(core::iter::repeat_n(200u8, 259));
        data.extend(core::iter::repeat_n(9u8, 4));
        assert_eq!(inflate_fixed(&zlib(&data)), data);
        assert_eq!(inflate_fixed(&zlib(&[])), Vec::<u8>::new());
        assert!(zlib(&[5; 100_000]).len() < 2_000);
    }

    #[test]
    fn png_has_the_right_chunks() {
        let mut c = Canvas::new(40, 20);
        c.text(1, 1, "OK 1%", BLACK, 1);
        c.line((0.0, 19.0), (39.0, 0.0), SERIES[0], 2, 0);
        let png = c.png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().expect("4")), 40);
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
        assert_eq!(c.get(0, 19), SERIES[0]);
    }
}
