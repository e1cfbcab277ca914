//! The invite link as a QR code, for a terminal or a web page.
//!
//! Rendered here from the module matrix rather than by the `qrcode` crate's renderers,
//! to control what matters to a phone camera: a four-module quiet zone, dark modules
//! drawn on an explicitly light background (a dark terminal would otherwise show the
//! code inverted, which many scanners refuse) and an SVG that scales.

use qrcode::{Color, EcLevel, QrCode};

use super::{InviteError, InviteLink};

/// The quiet zone the QR standard asks for, in modules.
const QUIET: usize = 4;

/// Black on bright white, then back to the terminal's colours.
const TERMINAL_COLOURS: &str = "\x1b[30;107m";
const TERMINAL_RESET: &str = "\x1b[0m";

impl InviteLink {
    /// The link as a QR code of Unicode half blocks (two modules per character cell),
    /// one line per two module rows, each line painting its own light background.
    pub fn qr_terminal(&self) -> Result<String, InviteError> {
        let grid = Grid::new(&self.to_link())?;
        let mut out = String::new();
        for y in (0..grid.size).step_by(2) {
            out.push_str(TERMINAL_COLOURS);
            for x in 0..grid.size {
                out.push(match (grid.dark(x, y), grid.dark(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push_str(TERMINAL_RESET);
            out.push('\n');
        }
        Ok(out)
    }

    /// The link as a QR code in SVG: one unit per module, no fixed pixel size, so it
    /// scales to whatever box holds it; labelled for screen readers.
    pub fn qr_svg(&self) -> Result<String, InviteError> {
        let grid = Grid::new(&self.to_link())?;
        let n = grid.size;
        let mut path = String::new();
        for y in 0..n {
            let mut x = 0;
            while x < n {
                if !grid.dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < n && grid.dark(x, y) {
                    x += 1;
                }
                path.push_str(&format!("M{start} {y}h{}v1h-{}z", x - start, x - start));
            }
        }
        Ok(format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" "#,
                r#"role="img" aria-label="Invite QR code" shape-rendering="crispEdges">"#,
                r##"<rect width="{n}" height="{n}" fill="#fff"/>"##,
                r##"<path fill="#000" d="{path}"/></svg>"##
            ),
            n = n,
            path = path
        ))
    }

    /// The QR version (1 to 40) the link needs: a measure of how dense its code is.
    pub fn qr_version(&self) -> Result<i16, InviteError> {
        match encode(&self.to_link())?.version() {
            qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
        }
    }
}

/// Medium error correction (15%): enough for a screen photographed at an angle, while
/// a link with three addresses stays a code a phone reads at arm's length.
fn encode(text: &str) -> Result<QrCode, InviteError> {
    QrCode::with_error_correction_level(text, EcLevel::M)
        .map_err(|e| InviteError::QrTooLarge(e.to_string()))
}

/// The module matrix with its quiet zone around it.
struct Grid {
    modules: Vec<Color>,
    width: usize,
    size: usize,
}

impl Grid {
    fn new(text: &str) -> Result<Grid, InviteError> {
        let code = encode(text)?;
        let width = code.width();
        Ok(Grid {
            modules: code.to_colors(),
            width,
            size: width + 2 * QUIET,
        })
    }

    /// Whether the module at (x, y), quiet zone included, is dark; outside is light.
    fn dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET), y.checked_sub(QUIET)) else {
            return false;
        };
        x < self.width
            && y < self.width
            && self.modules.get(y * self.width + x) == Some(&Color::Dark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;
    use crate::time::Timestamp;

    fn link(addresses: usize) -> InviteLink {
        InviteLink::new(
            GroupId([0x5a; 32]),
            Timestamp(1_900_000_000_000),
            vec![vec![0xa5; 40]; addresses],
        )
        .unwrap()
    }

    #[test]
    fn svg_is_labelled_and_scales() {
        let svg = link(1).qr_svg().unwrap();
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="Invite QR code""#));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(!svg.split('>').next().unwrap().contains("width"));
        assert!(svg.contains("M"), "no dark modules drawn");
    }

    #[test]
    fn terminal_rows_are_equal_and_carry_a_quiet_zone() {
        let l = link(3);
        let text = l.qr_terminal().unwrap();
        let rows = text
            .lines()
            .map(|row| {
                row.strip_prefix(TERMINAL_COLOURS)
                    .and_then(|r| r.strip_suffix(TERMINAL_RESET))
                    .unwrap()
                    .chars()
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        assert!(!rows.is_empty());
        let width = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == width));
        // Square: two module rows per line.
        assert_eq!(rows.len(), width.div_ceil(2));
        // The first two lines and the first four columns are quiet (light).
        assert!(rows[..2].iter().all(|r| r.iter().all(|c| *c == ' ')));
        assert!(rows.iter().all(|r| r[..QUIET].iter().all(|c| *c == ' ')));
        assert!(rows.iter().any(|r| r.contains(&'█')));
    }

    #[test]
    fn a_link_with_three_addresses_fits_a_phone_readable_code() {
        let v = link(3).qr_version().unwrap();
        // Version 12 is 65 × 65 modules; a phone reads it from a laptop screen.
        assert!(v <= 12, "version {v}");
        assert!(link(0).qr_version().unwrap() < v);
    }
}
