//! A small shell lexer for classification: a command line → simple commands joined by
//! `;`, `&&`, `||`, `|`, `&`, with their output redirections and the command
//! substitutions (`$(…)`, `` `…` ``) found anywhere in the line.
//!
//! It does not evaluate anything (no expansion, no globbing, no aliases): it only has to
//! find *which programs* a line would run and *with which words*, and it must fail
//! closed. Quotes, backslashes, ANSI-C quoting (`$'\x72\x6d'` is `rm`, decoded by bash's
//! rules before the word is used), `$"…"`, `#` comments, here-strings (`<<< word`),
//! here-documents (`<<EOF` … `EOF`, their bodies kept with the command they feed) and
//! file-descriptor duplications (`2>&1`) are understood; anything it cannot parse (an
//! unterminated quote or substitution) is an error, which the classifier turns into
//! `UNKNOWN`.
//!
//! Why hand-written: the well-kept crates split words (`shlex`, `shell-words`) but do
//! not know operators or redirections, and the full shell parsers are large for a
//! function that must run in microseconds.

use std::fmt;

/// How a simple command is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joint {
    /// First command of the line, or after `;`, `&`, newline, `(`, `)`.
    Start,
    /// After `&&`.
    And,
    /// After `||`.
    Or,
    /// After `|` or `|&`: reads the previous command's output.
    Pipe,
}

/// An output redirection (`>`, `>>`, `>|`, `&>`, `&>>`, `<>`) to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The redirection operator as written (without a leading fd number).
    pub op: String,
    /// The target word (quotes removed).
    pub target: String,
}

/// Standard input written into the line itself: a here-string (`<<< word`) or a
/// here-document (`<<DELIM` … `DELIM`, `<<-DELIM`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HereDoc {
    /// `<<<`, `<<` or `<<-`.
    pub op: String,
    /// What the command reads: the word and a newline, or the document's lines.
    pub body: String,
}

/// One simple command: leading assignments, words, output redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    pub joint: Joint,
    /// `NAME=value` words before the command name.
    pub assignments: Vec<String>,
    /// The command name and its arguments, quotes removed.
    pub words: Vec<String>,
    /// Output redirections, in order.
    pub redirects: Vec<Redirect>,
    /// Here-strings and here-documents, in order (the command's standard input).
    pub here: Vec<HereDoc>,
}

impl SimpleCommand {
    fn new(joint: Joint) -> SimpleCommand {
        SimpleCommand {
            joint,
            assignments: Vec::new(),
            words: Vec::new(),
            redirects: Vec::new(),
            here: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty()
            && self.assignments.is_empty()
            && self.redirects.is_empty()
            && self.here.is_empty()
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    pub commands: Vec<SimpleCommand>,
    /// The text inside every command substitution, to be checked on its own.
    pub substitutions: Vec<String>,
}

/// A command line the lexer cannot parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

struct Lexer<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    subs: Vec<String>,
    /// Here-documents whose bodies start after the next newline.
    pending: Vec<PendingHere>,
    /// Bodies of the here-documents read so far, in the order they were opened.
    bodies: Vec<String>,
}

struct PendingHere {
    delim: String,
    /// `<<-`: leading tabs are removed from the body and the delimiter line.
    strip_tabs: bool,
    /// Part of the delimiter was quoted: the body is not expanded.
    quoted: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Op(&'static str),
    Redir(String),
}

fn is_op_byte(b: u8) -> bool {
    matches!(b, b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')')
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn err<T>(&self, msg: &str) -> Result<T, ParseError> {
        Err(ParseError(format!("{msg} (at byte {})", self.i)))
    }

    /// Reads a `$( … )` starting at `self.i` (pointing at `$`); returns the inner text.
    fn dollar_paren(&mut self) -> Result<(), ParseError> {
        let arithmetic = self.at(2) == Some(b'(');
        let start = self.i + if arithmetic { 3 } else { 2 };
        self.i = start;
        let mut depth = if arithmetic { 2 } else { 1 };
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.i += 2,
                b'\'' => {
                    self.i += 1;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.i += 1;
                    }
                    if self.peek().is_none() {
                        return self.err("unterminated single quote in $( )");
                    }
                    self.i += 1;
                }
                b'(' => {
                    depth += 1;
                    self.i += 1;
                }
                b')' => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        let end = self.i - if arithmetic { 2 } else { 1 };
                        if !arithmetic {
                            self.subs.push(self.text[start..end].to_string());
                        }
                        return Ok(());
                    }
                }
                _ => self.i += 1,
            }
        }
        self.err("unterminated $( )")
    }

    /// Reads a backtick substitution starting at `self.i` (pointing at the backtick).
    fn backtick(&mut self) -> Result<(), ParseError> {
        self.i += 1;
        let start = self.i;
        let mut inner = String::new();
        while let Some(b) = self.peek() {
            match b {
                b'\\' if matches!(self.at(1), Some(b'`' | b'\\' | b'$')) => {
                    inner.push(self.at(1).map_or('\\', char::from));
                    self.i += 2;
                }
                b'`' => {
                    self.i += 1;
                    self.subs.push(inner);
                    return Ok(());
                }
                _ => {
                    let ch_len = utf8_len(b);
                    let end = (self.i + ch_len).min(self.s.len());
                    inner.push_str(&self.text[self.i..end]);
                    self.i = end;
                }
            }
        }
        let _ = start;
        self.err("unterminated backtick substitution")
    }

    fn word(&mut self) -> Result<String, ParseError> {
        let mut w = String::new();
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => break,
                _ if is_op_byte(b) => break,
                b'\\' => {
                    match self.at(1) {
                        Some(b'\n') => {}
                        Some(c) if c < 0x80 => w.push(c as char),
                        Some(c) => {
                            let end = (self.i + 1 + utf8_len(c)).min(self.s.len());
                            w.push_str(&self.text[self.i + 1..end]);
                            self.i = end - 2;
                        }
                        None => {}
                    }
                    // A trailing backslash must not move past the end: the caller slices
                    // the line up to `self.i` (a here-document's delimiter word).
                    self.i = (self.i + 2).min(self.s.len());
                }
                b'\'' => {
                    let start = self.i + 1;
                    self.i = start;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.i += 1;
                    }
                    if self.peek().is_none() {
                        return self.err("unterminated single quote");
                    }
                    w.push_str(&self.text[start..self.i]);
                    self.i += 1;
                }
                b'"' => {
                    self.i += 1;
                    loop {
                        match self.peek() {
                            None => return self.err("unterminated double quote"),
                            Some(b'"') => {
                                self.i += 1;
                                break;
                            }
                            Some(b'\\')
                                if matches!(self.at(1), Some(b'"' | b'\\' | b'$' | b'`')) =>
                            {
                                w.push(self.at(1).map_or('\\', char::from));
                                self.i += 2;
                            }
                            Some(b'$') if self.at(1) == Some(b'(') => {
                                let st = self.i;
                                self.dollar_paren()?;
                                w.push_str(&self.text[st..self.i]);
                            }
                            Some(b'`') => {
                                let st = self.i;
                                self.backtick()?;
                                w.push_str(&self.text[st..self.i]);
                            }
                            Some(c) => {
                                let end = (self.i + utf8_len(c)).min(self.s.len());
                                w.push_str(&self.text[self.i..end]);
                                self.i = end;
                            }
                        }
                    }
                }
                b'$' if self.at(1) == Some(b'\'') => {
                    let decoded = self.ansi_c()?;
                    w.push_str(&decoded);
                }
                // `$"…"` (a translatable string) is a double-quoted string.
                b'$' if self.at(1) == Some(b'"') => self.i += 1,
                b'$' if self.at(1) == Some(b'(') => {
                    let st = self.i;
                    self.dollar_paren()?;
                    w.push_str(&self.text[st..self.i]);
                }
                b'`' => {
                    let st = self.i;
                    self.backtick()?;
                    w.push_str(&self.text[st..self.i]);
                }
                _ => {
                    let end = (self.i + utf8_len(b)).min(self.s.len());
                    w.push_str(&self.text[self.i..end]);
                    self.i = end;
                }
            }
        }
        Ok(w)
    }

    /// Reads `$'…'` starting at `self.i` (pointing at `$`); returns the decoded text.
    fn ansi_c(&mut self) -> Result<String, ParseError> {
        let start = self.i + 2;
        let mut j = start;
        loop {
            match self.s.get(j) {
                None => {
                    self.i = j.min(self.s.len());
                    return self.err("unterminated $' quote");
                }
                Some(b'\\') => j += 2,
                Some(b'\'') => break,
                Some(_) => j += 1,
            }
        }
        self.i = j + 1;
        Ok(decode_ansi_c(&self.text[start..j]))
    }

    /// Reads the bodies of the pending here-documents; `self.i` is at the start of the
    /// line after the one that opened them.
    fn here_bodies(&mut self) -> Result<(), ParseError> {
        for p in std::mem::take(&mut self.pending) {
            let mut body = String::new();
            while self.i < self.s.len() {
                let eol = self.s[self.i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.s.len(), |k| self.i + k);
                let raw = &self.text[self.i..eol];
                self.i = (eol + 1).min(self.s.len());
                let line = if p.strip_tabs {
                    raw.trim_start_matches('\t')
                } else {
                    raw
                };
                if line == p.delim {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            if !p.quoted {
                // An unquoted document is expanded: its substitutions run.
                let mut sub = Lexer {
                    s: body.as_bytes(),
                    text: &body,
                    i: 0,
                    subs: Vec::new(),
                    pending: Vec::new(),
                    bodies: Vec::new(),
                };
                while let Some(b) = sub.peek() {
                    match b {
                        b'\\' => sub.i += 2,
                        b'$' if sub.at(1) == Some(b'(') => sub.dollar_paren()?,
                        b'`' => sub.backtick()?,
                        _ => sub.i += 1,
                    }
                }
                self.subs.append(&mut sub.subs);
            }
            self.bodies.push(body);
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Option<Tok>, ParseError> {
        // Skip blanks; a newline is a separator.
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\\' if self.at(1) == Some(b'\n') => self.i += 2,
                _ => break,
            }
        }
        let Some(b) = self.peek() else {
            return Ok(None);
        };
        let two = (b, self.at(1).unwrap_or(0));
        let three = self.at(2).unwrap_or(0);
        let op = |s: &mut Self, n: usize, o: &'static str| {
            s.i += n;
            Ok(Some(Tok::Op(o)))
        };
        match two {
            (b'\n', _) => {
                self.i += 1;
                if !self.pending.is_empty() {
                    self.here_bodies()?;
                }
                Ok(Some(Tok::Op(";")))
            }
            (b'#', _) => {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
                self.next()
            }
            (b';', b';') => op(self, 2, ";"),
            (b';', _) => op(self, 1, ";"),
            (b'&', b'&') => op(self, 2, "&&"),
            (b'&', b'>') => {
                let n = if three == b'>' { 3 } else { 2 };
                self.i += n;
                Ok(Some(Tok::Redir(if n == 3 { "&>>" } else { "&>" }.into())))
            }
            (b'&', _) => op(self, 1, ";"),
            (b'|', b'|') => op(self, 2, "||"),
            (b'|', b'&') => op(self, 2, "|"),
            (b'|', _) => op(self, 1, "|"),
            (b'(', _) | (b')', _) => op(self, 1, ";"),
            (b'<', _) | (b'>', _) => Ok(Some(Tok::Redir(self.redir_op()))),
            _ => {
                // A number directly before `<` or `>` is a file-descriptor prefix.
                let st = self.i;
                let mut j = st;
                while self.s.get(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
                if j > st && matches!(self.s.get(j), Some(b'<' | b'>')) {
                    self.i = j;
                    return Ok(Some(Tok::Redir(self.redir_op())));
                }
                Ok(Some(Tok::Word(self.word()?)))
            }
        }
    }

    fn redir_op(&mut self) -> String {
        let rest = &self.s[self.i..];
        let ops: [&str; 10] = [">>", ">|", ">&", ">", "<<<", "<<-", "<<", "<>", "<&", "<"];
        let op = ops
            .into_iter()
            .find(|o| rest.starts_with(o.as_bytes()))
            .unwrap_or(">");
        self.i += op.len();
        op.to_string()
    }
}

fn utf8_len(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Decodes the text between `$'` and `'` by bash's rules: `\a \b \e \E \f \n \r \t \v
/// \\ \' \" \?`, `\nnn` (one to three octal digits), `\xHH` (one or two hex digits),
/// `\uHHHH` and `\UHHHHHHHH` (up to four and eight hex digits: the UTF-8 encoding of that
/// character), `\cX` (control-X; `\c?` is DEL). An unknown escape keeps its backslash, a
/// NUL ends the string (bash drops the rest of the quoted text), and bytes that are not
/// UTF-8 become U+FFFD.
pub fn decode_ansi_c(raw: &str) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut cs = raw.chars().peekable();
    let digits = |cs: &mut std::iter::Peekable<std::str::Chars<'_>>, radix: u32, max: usize| {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            match cs.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    v = v.wrapping_mul(radix).wrapping_add(d);
                    cs.next();
                    n += 1;
                }
                None => break,
            }
        }
        (v, n)
    };
    let push_char = |out: &mut Vec<u8>, c: char| {
        let mut b = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    };
    while let Some(c) = cs.next() {
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        let Some(e) = cs.next() else {
            out.push(b'\\');
            break;
        };
        let byte = match e {
            'a' => 0x07,
            'b' => 0x08,
            'e' | 'E' => 0x1b,
            'f' => 0x0c,
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'v' => 0x0b,
            '\\' | '\'' | '"' | '?' => e as u8,
            '0'..='7' => {
                // Three octal digits at most; the value is one byte.
                let (v, n) = digits(&mut cs, 8, 2);
                let first = e.to_digit(8).unwrap_or(0);
                ((first << (3 * n)) + v) as u8
            }
            'x' => match digits(&mut cs, 16, 2) {
                (_, 0) => {
                    out.extend_from_slice(b"\\x");
                    continue;
                }
                (v, _) => v as u8,
            },
            'u' | 'U' => {
                let max = if e == 'u' { 4 } else { 8 };
                match digits(&mut cs, 16, max) {
                    (_, 0) => {
                        out.push(b'\\');
                        push_char(&mut out, e);
                        continue;
                    }
                    (0, _) => 0,
                    (v, _) => {
                        push_char(&mut out, char::from_u32(v).unwrap_or('\u{fffd}'));
                        continue;
                    }
                }
            }
            'c' => match cs.next() {
                None => {
                    out.extend_from_slice(b"\\c");
                    break;
                }
                Some(x) => {
                    if x == '\\' && cs.peek() == Some(&'\\') {
                        cs.next();
                    }
                    if x == '?' {
                        0x7f
                    } else {
                        ((x.to_ascii_uppercase() as u32) & 0x1f) as u8
                    }
                }
            },
            other => {
                out.push(b'\\');
                push_char(&mut out, other);
                continue;
            }
        };
        if byte == 0 {
            break;
        }
        out.push(byte);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Is this redirection an output redirection to a file (not a dup like `>&2`)?
fn output_op(op: &str) -> bool {
    let op = op.trim_start_matches(|c: char| c.is_ascii_digit());
    matches!(op, ">" | ">>" | ">|" | "&>" | "&>>" | "<>")
}

/// Parses a command line.
pub fn parse(line: &str) -> Result<Parsed, ParseError> {
    let mut lx = Lexer {
        s: line.as_bytes(),
        text: line,
        i: 0,
        subs: Vec::new(),
        pending: Vec::new(),
        bodies: Vec::new(),
    };
    let mut commands: Vec<SimpleCommand> = Vec::new();
    let mut cur = SimpleCommand::new(Joint::Start);
    // Where each here-document's body goes (command index, here index), in order.
    let mut slots: Vec<(usize, usize)> = Vec::new();
    let flush = |cur: &mut SimpleCommand, commands: &mut Vec<SimpleCommand>, next: Joint| {
        let done = std::mem::replace(cur, SimpleCommand::new(next));
        if !done.is_empty() {
            commands.push(done);
        }
    };
    let mut guard = 0usize;
    while let Some(tok) = lx.next()? {
        guard += 1;
        if guard > 100_000 {
            return Err(ParseError("command line too long".into()));
        }
        match tok {
            Tok::Word(w) => {
                if cur.words.is_empty() && is_assignment(&w) {
                    cur.assignments.push(w);
                } else {
                    cur.words.push(w);
                }
            }
            Tok::Op(o) => {
                let joint = match o {
                    "&&" => Joint::And,
                    "||" => Joint::Or,
                    "|" => Joint::Pipe,
                    _ => Joint::Start,
                };
                if joint == Joint::Pipe && cur.words.is_empty() && cur.assignments.is_empty() {
                    return Err(ParseError("a pipe with no command before it".into()));
                }
                flush(&mut cur, &mut commands, joint);
            }
            Tok::Redir(op) => {
                // Here-documents and dups take a word too; only output to files and
                // standard input written into the line matter.
                let word_start = lx.i;
                let Some(Tok::Word(target)) = lx.next()? else {
                    return Err(ParseError(format!("redirection `{op}` without a target")));
                };
                let dup = op.ends_with('&') || target.starts_with('&');
                if op == "<<<" {
                    cur.here.push(HereDoc {
                        op,
                        body: format!("{target}\n"),
                    });
                } else if op == "<<" || op == "<<-" {
                    let quoted = line[word_start..lx.i].contains(['\'', '"', '\\']);
                    lx.pending.push(PendingHere {
                        delim: target,
                        strip_tabs: op == "<<-",
                        quoted,
                    });
                    slots.push((commands.len(), cur.here.len()));
                    cur.here.push(HereDoc {
                        op,
                        body: String::new(),
                    });
                } else if output_op(&op) && !dup {
                    cur.redirects.push(Redirect { op, target });
                } else if op == ">&" && !target.chars().all(|c| c.is_ascii_digit() || c == '-') {
                    // `>& file` is bash for `&> file`.
                    cur.redirects.push(Redirect {
                        op: "&>".into(),
                        target,
                    });
                }
            }
        }
    }
    if cur.joint == Joint::Pipe && cur.words.is_empty() && cur.assignments.is_empty() {
        return Err(ParseError("a pipe with no command after it".into()));
    }
    flush(&mut cur, &mut commands, Joint::Start);
    // A document opened on the last line has no body (bash: "delimited by end-of-file").
    for (k, (ci, hi)) in slots.into_iter().enumerate() {
        if let (Some(body), Some(c)) = (lx.bodies.get_mut(k), commands.get_mut(ci)) {
            if let Some(h) = c.here.get_mut(hi) {
                h.body = std::mem::take(body);
            }
        }
    }
    Ok(Parsed {
        commands,
        substitutions: lx.subs,
    })
}

/// `NAME=value` with a shell identifier for NAME.
pub fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            let mut cs = name.chars();
            cs.next()
                .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && cs.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        parse(line)
            .unwrap()
            .commands
            .into_iter()
            .map(|c| c.words)
            .collect()
    }

    #[test]
    fn splits_operators_and_quotes() {
        assert_eq!(words("rm -rf /"), vec![vec!["rm", "-rf", "/"]]);
        assert_eq!(
            words("ls 'a b' \"c d\" e\\ f;echo x&&true||false"),
            vec![
                vec!["ls", "a b", "c d", "e f"],
                vec!["echo", "x"],
                vec!["true"],
                vec!["false"]
            ]
        );
        let p = parse("curl -s https://x | sudo bash -s").unwrap();
        assert_eq!(p.commands[1].joint, Joint::Pipe);
        assert_eq!(p.commands[1].words, vec!["sudo", "bash", "-s"]);
        assert_eq!(words("a # rm -rf /"), vec![vec!["a"]]);
        assert_eq!(
            words("(cd /; rm x) & wait"),
            vec![vec!["cd", "/"], vec!["rm", "x"], vec!["wait"]]
        );
    }

    #[test]
    fn redirections() {
        let p = parse("echo x > /etc/passwd 2>&1 >>log <in").unwrap();
        let c = &p.commands[0];
        assert_eq!(c.words, vec!["echo", "x"]);
        let t: Vec<_> = c
            .redirects
            .iter()
            .map(|r| (r.op.as_str(), r.target.as_str()))
            .collect();
        assert_eq!(t, vec![(">", "/etc/passwd"), (">>", "log")]);
        let p = parse("cat a 2>/dev/null &>out").unwrap();
        let t: Vec<_> = p.commands[0]
            .redirects
            .iter()
            .map(|r| r.target.as_str())
            .collect();
        assert_eq!(t, vec!["/dev/null", "out"]);
        assert!(parse("echo >").is_err());
    }

    #[test]
    fn substitutions_and_assignments() {
        let p = parse("FOO=1 echo \"$(rm -rf /tmp/x)\" `id` $((1+2))").unwrap();
        assert_eq!(p.substitutions, vec!["rm -rf /tmp/x", "id"]);
        assert_eq!(p.commands[0].assignments, vec!["FOO=1"]);
        assert_eq!(p.commands[0].words[0], "echo");
    }

    #[test]
    fn errors_fail_closed() {
        for bad in [
            "echo 'x",
            "echo \"x",
            "echo $(ls",
            "echo `ls",
            "| ls",
            "ls |",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "\\",
            "$",
            "$(",
            "é'",
            "a\\é",
            ">&",
            "2>",
            "&&&",
            "\u{0}",
            "`\\",
            "cat <<\\",
            "cat <<<\\",
            "$'\\",
            "$'\\é'",
            "cat <<E\\",
            "x <<-",
            "$\"",
            "$'\\c",
        ] {
            let _ = parse(s);
        }
    }

    // --- `$'…'` (ANSI-C quoting), decoded by bash's rules ---

    #[test]
    fn ansi_c_single_character_escapes() {
        let cases: &[(&str, &str)] = &[
            (r"\a", "\u{07}"),
            (r"\b", "\u{08}"),
            (r"\e", "\u{1b}"),
            (r"\E", "\u{1b}"),
            (r"\f", "\u{0c}"),
            (r"\n", "\n"),
            (r"\r", "\r"),
            (r"\t", "\t"),
            (r"\v", "\u{0b}"),
            (r"\\", "\\"),
            (r"\'", "'"),
            (r#"\""#, "\""),
            (r"\?", "?"),
            // An unknown escape keeps its backslash; so does a lone trailing one.
            (r"\q", r"\q"),
            (r"\z9", r"\z9"),
            ("a\\", "a\\"),
            ("plain text", "plain text"),
            ("é€", "é€"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_ansi_c(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn ansi_c_octal() {
        let cases: &[(&str, &str)] = &[
            (r"\162\155", "rm"),
            (r"\101", "A"),
            (r"\7", "\u{07}"),
            (r"\12", "\n"),
            (r"\060", "0"),
            // Three digits at most: the fourth is a character of its own.
            (r"\1011", "A1"),
            // 8 is not an octal digit.
            (r"\18", "\u{01}8"),
            // NUL ends the string, as in bash (the rest of the quoted text is dropped).
            (r"a\0b", "a"),
            (r"a\000b", "a"),
            // Values above 0o377 wrap to one byte (bash stores a char): 0o400 is NUL.
            (r"x\400y", "x"),
            (r"\501", "A"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_ansi_c(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn ansi_c_hex() {
        let cases: &[(&str, &str)] = &[
            (r"\x72\x6d", "rm"),
            (r"\x41", "A"),
            (r"\x4a", "J"),
            (r"\x4A", "J"),
            // One digit is enough; two at most.
            (r"\x9", "\t"),
            (r"\x414", "A4"),
            // No hex digit: kept as written.
            (r"\xg", r"\xg"),
            (r"\x", r"\x"),
            (r"a\x00b", "a"),
            // A lone byte that is not UTF-8 becomes U+FFFD.
            (r"\xff", "\u{fffd}"),
            // Two bytes that together are UTF-8 are that character.
            (r"\xc3\xa9", "é"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_ansi_c(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn ansi_c_unicode() {
        let cases: &[(&str, &str)] = &[
            (r"\u0072m", "rm"),
            (r"\u72", "r"),
            (r"\u00e9", "é"),
            (r"\u20AC", "€"),
            // Four digits at most for \u, eight for \U.
            (r"\u00411", "A1"),
            (r"\U00000041", "A"),
            (r"\U0001F600", "😀"),
            (r"\U000000411", "A1"),
            (r"\U41", "A"),
            // No digit: kept as written.
            (r"\u", r"\u"),
            (r"\Uxyz", r"\Uxyz"),
            // \u0 is NUL and ends the string; a surrogate is not a character.
            (r"a\u0000b", "a"),
            (r"\uD800", "\u{fffd}"),
            (r"\U7FFFFFFF", "\u{fffd}"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_ansi_c(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn ansi_c_control() {
        let cases: &[(&str, &str)] = &[
            (r"\cA", "\u{01}"),
            (r"\ca", "\u{01}"),
            (r"\cZ", "\u{1a}"),
            (r"\c[", "\u{1b}"),
            (r"\c?", "\u{7f}"),
            (r"\cIx", "\tx"),
            // Control-@ is NUL and ends the string.
            (r"a\c@b", "a"),
            // `\c\\` is control-backslash.
            (r"\c\\", "\u{1c}"),
            (r"\c", r"\c"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_ansi_c(raw), *want, "{raw:?}");
        }
    }

    #[test]
    fn ansi_c_in_words() {
        assert_eq!(words(r"$'\x6c\x73' -l"), vec![vec!["ls", "-l"]]);
        assert_eq!(words(r"$'\154\163'"), vec![vec!["ls"]]);
        assert_eq!(words(r"$'\u006cs'"), vec![vec!["ls"]]);
        // Part of a word, next to other quoting.
        assert_eq!(
            words(r"l$'s' a$'\t'b 'c'$'d'"),
            vec![vec!["ls", "a\tb", "cd"]]
        );
        // An escaped quote does not end the string; spaces do not split it.
        assert_eq!(words(r"echo $'it\'s a b'"), vec![vec!["echo", "it's a b"]]);
        // Operators inside are text.
        assert_eq!(words(r"echo $'a;b|c'"), vec![vec!["echo", "a;b|c"]]);
        // `$"…"` is a double-quoted string.
        assert_eq!(words(r#"echo $"x y""#), vec![vec!["echo", "x y"]]);
        assert_eq!(words(r#"$"ls""#), vec![vec!["ls"]]);
        // Unterminated: an error (fails closed).
        assert!(parse(r"echo $'abc").is_err());
        assert!(parse(r"echo $'abc\'").is_err());
        assert!(parse(r#"echo $"abc"#).is_err());
        // Inside double quotes `$'` is not special.
        assert_eq!(words(r#"echo "$'x'""#), vec![vec!["echo", "$'x'"]]);
    }

    // --- here-strings and here-documents ---

    fn here(line: &str) -> Vec<(String, String)> {
        parse(line)
            .unwrap()
            .commands
            .into_iter()
            .flat_map(|c| c.here)
            .map(|h| (h.op, h.body))
            .collect()
    }

    #[test]
    fn here_strings() {
        let p = parse("cat <<< 'two words' -n").unwrap();
        assert_eq!(p.commands.len(), 1);
        assert_eq!(p.commands[0].words, vec!["cat", "-n"]);
        assert_eq!(
            p.commands[0].here,
            vec![HereDoc {
                op: "<<<".into(),
                body: "two words\n".into()
            }]
        );
        assert!(p.commands[0].redirects.is_empty());
        assert_eq!(here("wc -c <<<abc"), vec![("<<<".into(), "abc\n".into())]);
        assert_eq!(
            here(r"cat <<< $'a\tb'"),
            vec![("<<<".into(), "a\tb\n".into())]
        );
        // A substitution in a here-string is found like any other.
        let p = parse("cat <<< \"$(id)\"").unwrap();
        assert_eq!(p.substitutions, vec!["id"]);
        // Kept with the command it feeds, not the next one.
        let p = parse("cat <<< x | wc -l").unwrap();
        assert_eq!(p.commands[0].here.len(), 1);
        assert!(p.commands[1].here.is_empty());
        assert!(parse("cat <<<").is_err());
    }

    #[test]
    fn here_documents_unquoted() {
        let p = parse("cat <<EOF\nline one $(whoami)\n`id`\nEOF\necho done").unwrap();
        assert_eq!(p.commands.len(), 2);
        assert_eq!(p.commands[0].words, vec!["cat"]);
        assert_eq!(
            p.commands[0].here,
            vec![HereDoc {
                op: "<<".into(),
                body: "line one $(whoami)\n`id`\n".into()
            }]
        );
        // The body is expanded by the shell: its substitutions run and are checked.
        assert_eq!(p.substitutions, vec!["whoami", "id"]);
        // Body lines are not commands of the line.
        assert_eq!(p.commands[1].words, vec!["echo", "done"]);
        // Escaped `\$(` is not a substitution.
        let p = parse("cat <<EOF\n\\$(id)\nEOF").unwrap();
        assert!(p.substitutions.is_empty());
    }

    #[test]
    fn here_documents_quoted() {
        for opener in ["<<'EOF'", "<<\"EOF\"", "<<\\EOF", "<<E'O'F"] {
            let line = format!("cat {opener}\n$(whoami)\nEOF\n");
            let p = parse(&line).unwrap();
            assert_eq!(
                p.commands[0].here[0].body, "$(whoami)\n",
                "{opener}: body is kept verbatim"
            );
            assert!(
                p.substitutions.is_empty(),
                "{opener}: a quoted document is not expanded"
            );
        }
    }

    #[test]
    fn here_documents_strip_tabs() {
        // `<<-` removes leading tabs from the body and the delimiter line.
        assert_eq!(
            here("cat <<-EOF\n\tone\n\t\ttwo\n  three\n\tEOF\n"),
            vec![("<<-".into(), "one\ntwo\n  three\n".into())]
        );
        // `<<` keeps them, and an indented delimiter does not end the document.
        assert_eq!(
            here("cat <<EOF\n\tone\n\tEOF\nEOF\n"),
            vec![("<<".into(), "\tone\n\tEOF\n".into())]
        );
    }

    #[test]
    fn here_documents_several_and_odd() {
        // Two documents opened on one line are read in order.
        let p = parse("cat <<A; wc -l <<B\na1\nA\nb1\nb2\nB\nls").unwrap();
        let cmds: Vec<_> = p.commands.iter().map(|c| c.words.clone()).collect();
        assert_eq!(cmds, vec![vec!["cat"], vec!["wc", "-l"], vec!["ls"]]);
        assert_eq!(p.commands[0].here[0].body, "a1\n");
        assert_eq!(p.commands[1].here[0].body, "b1\nb2\n");
        // The document belongs to the command that opened it, even in a pipeline.
        let p = parse("cat <<EOF | wc -l\nx\nEOF").unwrap();
        assert_eq!(p.commands[0].here[0].body, "x\n");
        assert!(p.commands[1].here.is_empty());
        assert_eq!(p.commands[1].joint, Joint::Pipe);
        // No delimiter line: the body runs to the end (bash warns and does the same).
        assert_eq!(
            here("cat <<EOF\nabc\ndef"),
            vec![("<<".into(), "abc\ndef\n".into())]
        );
        // Opened on the last line: an empty body.
        assert_eq!(here("cat <<EOF"), vec![("<<".into(), String::new())]);
        // `<<` without a delimiter word is an error.
        assert!(parse("cat <<").is_err());
        // An output redirection next to a document still counts.
        let p = parse("cat <<EOF > out.txt\nx\nEOF").unwrap();
        assert_eq!(p.commands[0].redirects[0].target, "out.txt");
    }
}
