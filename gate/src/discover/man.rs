//! Man pages as evidence: found by file name and read (gunzipped), never rendered by
//! executing `man`.
//!
//! Only the command sections are indexed (`man1`, `man6`, `man8`, top-level English
//! pages). From the roff source we keep the NAME line's description ("remove files or
//! directories") and the start of DESCRIPTION, with font escapes and macros stripped —
//! enough for keyword rules, not a renderer.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes read from one (decompressed) page at most.
const MAX_PAGE: u64 = 512 << 10;
/// Characters kept from DESCRIPTION.
const MAX_TEXT: usize = 1500;

/// The directories searched by default.
pub fn default_roots() -> Vec<PathBuf> {
    ["/usr/share/man", "/usr/local/share/man", "/usr/local/man"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// What a man page says about a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManPage {
    /// `1`, `8`, `6`.
    pub section: String,
    pub summary: Option<String>,
    pub text: Option<String>,
    pub path: PathBuf,
}

/// Command name → its man page files, best section first.
#[derive(Debug, Clone, Default)]
pub struct ManIndex {
    pages: HashMap<String, Vec<(u8, PathBuf)>>,
}

impl ManIndex {
    /// Indexes `roots/man{1,8,6}/NAME.SECTION[.gz]`.
    pub fn build(roots: &[PathBuf]) -> ManIndex {
        let mut pages: HashMap<String, Vec<(u8, PathBuf)>> = HashMap::new();
        for root in roots {
            // Preference: section 1, then 8, then 6; earlier roots first.
            for (rank, sec) in [(0u8, "1"), (1, "8"), (2, "6")] {
                let dir = root.join(format!("man{sec}"));
                let Ok(rd) = fs::read_dir(&dir) else { continue };
                for e in rd.flatten() {
                    let file = e.file_name();
                    let Some(file) = file.to_str() else { continue };
                    let base = file.strip_suffix(".gz").unwrap_or(file);
                    if base.ends_with(".bz2") || base.ends_with(".xz") || base.ends_with(".zst") {
                        continue;
                    }
                    let Some((name, s)) = base.rsplit_once('.') else {
                        continue;
                    };
                    if name.is_empty() || !s.starts_with(sec) {
                        continue;
                    }
                    pages
                        .entry(name.to_string())
                        .or_default()
                        .push((rank, e.path()));
                }
            }
        }
        for v in pages.values_mut() {
            v.sort_by_key(|(r, _)| *r);
        }
        ManIndex { pages }
    }

    /// The index of the system's man pages.
    pub fn system() -> ManIndex {
        ManIndex::build(&default_roots())
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    pub fn has(&self, name: &str) -> bool {
        self.pages.contains_key(name)
    }

    /// Reads and extracts the best page for `name`.
    pub fn lookup(&self, name: &str) -> Option<ManPage> {
        let candidates = self.pages.get(name)?;
        for (rank, path) in candidates {
            let Ok(mut src) = read_page(path) else {
                continue;
            };
            // `.so man8/other.8` redirects to another page (one level).
            if let Some(target) = so_target(&src) {
                let root = path.parent().and_then(Path::parent);
                let resolved = root.map(|r| r.join(target));
                let Some(text) = resolved.and_then(|p| {
                    read_page(&p)
                        .or_else(|_| read_page(&PathBuf::from(format!("{}.gz", p.display()))))
                        .ok()
                }) else {
                    continue;
                };
                src = text;
            }
            let (summary, text) = extract(&src);
            return Some(ManPage {
                section: ["1", "8", "6"][*rank as usize].to_string(),
                summary,
                text,
                path: path.clone(),
            });
        }
        None
    }
}

/// Reads a page, gunzipping `.gz`, at most `MAX_PAGE` bytes.
pub fn read_page(path: &Path) -> std::io::Result<String> {
    let f = fs::File::open(path)?;
    let mut buf = Vec::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f)
            .take(MAX_PAGE)
            .read_to_end(&mut buf)?;
    } else {
        f.take(MAX_PAGE).read_to_end(&mut buf)?;
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn so_target(src: &str) -> Option<&str> {
    let first = src
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with(".\\\""))?;
    first.strip_prefix(".so ").map(str::trim)
}

/// Strips roff escapes from one line of text.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut cs = s.chars().peekable();
    while let Some(c) = cs.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match cs.next() {
            Some('f') => {
                // \fB, \fI, \fR, \fP, \f(XX, \f[...]
                match cs.next() {
                    Some('(') => {
                        cs.next();
                        cs.next();
                    }
                    Some('[') => {
                        for x in cs.by_ref() {
                            if x == ']' {
                                break;
                            }
                        }
                    }
                    _ => {}
                }
            }
            Some('(') => {
                let a = cs.next();
                let b = cs.next();
                match (a, b) {
                    (Some('e'), Some('m')) | (Some('e'), Some('n')) | (Some('h'), Some('y')) => {
                        out.push('-')
                    }
                    (Some('l'), Some('q')) | (Some('r'), Some('q')) => out.push('"'),
                    (Some('o'), Some('q')) | (Some('c'), Some('q')) | (Some('a'), Some('q')) => {
                        out.push('\'')
                    }
                    _ => {}
                }
            }
            Some('[') => {
                let mut name = String::new();
                for x in cs.by_ref() {
                    if x == ']' {
                        break;
                    }
                    name.push(x);
                }
                if matches!(name.as_str(), "em" | "en" | "hy" | "-") {
                    out.push('-');
                }
            }
            Some('*') => match cs.next() {
                Some('(') => {
                    cs.next();
                    cs.next();
                }
                Some('[') => {
                    for x in cs.by_ref() {
                        if x == ']' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            Some('s') => {
                if matches!(cs.peek(), Some('+' | '-')) {
                    cs.next();
                }
                while cs.peek().is_some_and(|x| x.is_ascii_digit()) {
                    cs.next();
                }
            }
            Some('-') => out.push('-'),
            Some('e') | Some('\\') => out.push('\\'),
            Some(' ') | Some('~') => out.push(' '),
            Some('&') | Some('|') | Some('^') | Some('c') | Some('/') | Some(',') | Some(':') => {}
            Some('"') => break, // comment
            Some(x) => out.push(x),
            None => {}
        }
    }
    out
}

/// Macro arguments as text (quotes removed).
fn macro_text(rest: &str) -> String {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in rest.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words.join(" ")
}

/// mdoc macro names that are markup, not text.
fn is_mdoc_macro(w: &str) -> bool {
    w.len() == 2
        && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && w.chars().nth(1).is_some_and(|c| c.is_ascii_lowercase())
}

/// Extracts (NAME description, DESCRIPTION start) from roff (man or mdoc).
pub fn extract(src: &str) -> (Option<String>, Option<String>) {
    let mut section = String::new();
    let mut name_text = String::new();
    let mut desc = String::new();
    let mut mdoc_nd: Option<String> = None;
    for raw in src.lines() {
        let line = raw.trim_end();
        if line.starts_with(".\\\"") || line.starts_with("'\\\"") || line == "." {
            continue;
        }
        let (is_macro, mac, rest) =
            if let Some(m) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) {
                let m = m.trim_start();
                let (mac, rest) = m.split_once([' ', '\t']).unwrap_or((m, ""));
                (true, mac, rest.trim())
            } else {
                (false, "", line)
            };
        if is_macro && (mac == "SH" || mac == "Sh") {
            section = clean(&macro_text(rest)).to_ascii_uppercase();
            continue;
        }
        let text = if is_macro {
            match mac {
                "B" | "I" | "BR" | "RB" | "IR" | "RI" | "BI" | "IB" | "SM" | "SB" | "IP" | "TP"
                | "Nm" | "Ar" | "Pa" | "Em" | "Sy" | "Dv" | "Ev" | "Li" | "Cm" | "Ic" | "Xr"
                | "Ql" | "Dq" | "Sq" | "Pq" | "Fl" | "Op" => {
                    let t = macro_text(rest);
                    let words: Vec<&str> = t.split(' ').filter(|w| !is_mdoc_macro(w)).collect();
                    let joined = words.join(" ");
                    if mac == "Fl" {
                        format!("-{joined}")
                    } else {
                        joined
                    }
                }
                "Nd" => {
                    mdoc_nd = Some(clean(&macro_text(rest)));
                    continue;
                }
                _ => continue,
            }
        } else {
            rest.to_string()
        };
        let text = clean(&text);
        match section.as_str() {
            "NAME" => {
                if !name_text.is_empty() {
                    name_text.push(' ');
                }
                name_text.push_str(text.trim());
            }
            "DESCRIPTION" if desc.len() < MAX_TEXT => {
                if !desc.is_empty() {
                    desc.push(' ');
                }
                desc.push_str(text.trim());
            }
            _ => {}
        }
    }
    let summary = match mdoc_nd {
        Some(nd) if !nd.is_empty() => Some(nd),
        _ => {
            let t = name_text.trim();
            // "rm - remove files or directories": keep the part after the dash.
            let d = t
                .split_once(" - ")
                .map(|(_, d)| d)
                .or_else(|| t.split_once(" -- ").map(|(_, d)| d))
                .unwrap_or(t);
            (!d.is_empty()).then(|| d.trim().to_string())
        }
    };
    let desc = desc.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = (!desc.is_empty()).then(|| desc.chars().take(MAX_TEXT).collect());
    (summary, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_man_and_mdoc() {
        let man = ".TH RM 1\n.SH NAME\nrm \\- remove files or directories\n.SH SYNOPSIS\n.B rm\n.SH DESCRIPTION\nThis manual page\ndocuments \\fBrm\\fR.\n.TP\n\\fB\\-f\\fR\n";
        let (s, t) = extract(man);
        assert_eq!(s.as_deref(), Some("remove files or directories"));
        assert!(t.unwrap().starts_with("This manual page documents rm. -f"));
        let mdoc = ".Dd x\n.Sh NAME\n.Nm rm\n.Nd remove directory entries\n.Sh DESCRIPTION\nThe\n.Nm\nutility attempts to remove\n";
        let (s, t) = extract(mdoc);
        assert_eq!(s.as_deref(), Some("remove directory entries"));
        assert!(t.unwrap().contains("utility attempts to remove"));
    }

    #[test]
    fn clean_strips_escapes() {
        assert_eq!(
            clean("\\fBls\\fP \\(em list \\*(lqfiles\\*(rq\\&."),
            "ls - list files."
        );
        assert_eq!(clean("a\\-b \\s-1SMALL\\s0 c"), "a-b SMALL c");
    }
}
