//! A small shell lexer for classification: a command line → simple commands joined by
//! `;`, `&&`, `||`, `|`, `&`, with their output redirections and the command
//! substitutions (`$(…)`, `` `…` ``) found anywhere in the line.
//!
//! It does not evaluate anything (no expansion, no globbing, no aliases): it only has to
//! find *which programs* a line would run and *with which words*, and it must fail
//! closed. Quotes, backslashes, `#` comments, here-strings and file-descriptor
//! duplications (`2>&1`) are understood; anything it cannot parse (an unterminated
//! quote or substitution) is an error, which the classifier turns into `UNKNOWN`.
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
                    self.i += 2;
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
            (b'\n', _) => op(self, 1, ";"),
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
    };
    let mut commands = Vec::new();
    let mut cur = SimpleCommand {
        joint: Joint::Start,
        assignments: Vec::new(),
        words: Vec::new(),
        redirects: Vec::new(),
    };
    let flush = |cur: &mut SimpleCommand, commands: &mut Vec<SimpleCommand>, next: Joint| {
        let done = std::mem::replace(
            cur,
            SimpleCommand {
                joint: next,
                assignments: Vec::new(),
                words: Vec::new(),
                redirects: Vec::new(),
            },
        );
        if !done.words.is_empty() || !done.assignments.is_empty() || !done.redirects.is_empty() {
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
                // Here-documents and dups take a word too; only output to files matters.
                let Some(Tok::Word(target)) = lx.next()? else {
                    return Err(ParseError(format!("redirection `{op}` without a target")));
                };
                let dup = op.ends_with('&') || target.starts_with('&');
                if output_op(&op) && !dup {
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
            "\\", "$", "$(", "é'", "a\\é", ">&", "2>", "&&&", "\u{0}", "`\\",
        ] {
            let _ = parse(s);
        }
    }
}
