//! A language-agnostic scanner for interpreter programs (`python3 -c`, `perl -e`, `awk
//! 'prog'`, a here-document fed to `node`): string literals, command quotes (backticks,
//! `qx(…)`, `%x(…)`) and the string arguments of a call, so that the classifier can find
//! the commands a program runs.
//!
//! It is not a parser of any of these languages and does not try to be: it finds what a
//! one-liner says in plain text. A program that builds its commands at run time
//! (`os.system(cmd)` with `cmd` computed) is still caught by the `runs` patterns of the
//! rule file and raised to their floor; only the inner command is then unknown.

use super::rules::{Backticks, Interpreter};

/// What a stretch of program text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A string literal's text (escapes decoded roughly).
    Str(String),
    /// A command quote's text: backticks, `qx(…)`, `%x(…)` (a command line).
    Cmd(String),
    /// `(`, `[` or `{`.
    Open,
    /// `)`, `]` or `}`.
    Close,
    /// `;` or a newline: the end of a statement.
    End,
    /// Anything else (names, operators, numbers), one at a time.
    Other,
}

/// A token and where it starts and ends (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        c => c,
    }
}

/// Reads a delimited text starting just after the opening delimiter at byte `i`;
/// returns the text (escapes kept except `\\` and escaped delimiters) and the byte
/// after the closing delimiter (the end of `src` when it is missing).
fn delimited(src: &str, i: usize, open: char) -> (String, usize) {
    let close = closing(open);
    let nests = close != open;
    let mut depth = 0usize;
    let mut out = String::new();
    let mut it = src[i..].char_indices();
    while let Some((k, c)) = it.next() {
        if c == '\\' {
            match it.next() {
                Some((_, n)) if n == close || n == open || n == '\\' => out.push(n),
                Some((_, n)) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
            continue;
        }
        if nests && c == open {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return (out, i + k + c.len_utf8());
            }
            depth -= 1;
        }
        out.push(c);
    }
    (out, src.len())
}

/// Reads a quoted string starting at the quote at byte `i`; decodes `\n`, `\t`, `\\`
/// and escaped quotes.
fn string_at(src: &str, i: usize, q: char, triple: bool) -> (String, usize) {
    let qs: String = std::iter::repeat_n(q, 3).collect();
    if triple && src[i..].starts_with(&qs) {
        let body = i + 3;
        return match src[body..].find(&qs) {
            Some(k) => (src[body..body + k].to_string(), body + k + 3),
            None => (src[body..].to_string(), src.len()),
        };
    }
    let mut out = String::new();
    let mut it = src[i + q.len_utf8()..].char_indices();
    let base = i + q.len_utf8();
    while let Some((k, c)) = it.next() {
        if c == '\\' {
            match it.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, n)) if n == q || n == '\\' => out.push(n),
                Some((_, n)) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
            continue;
        }
        if c == q {
            return (out, base + k + c.len_utf8());
        }
        out.push(c);
    }
    (out, src.len())
}

/// The delimiter after a quote operator (`qx(`, `q{`, `qw/`) at byte `j`, allowing
/// spaces before it (Perl does); `None` when what follows is not a delimiter.
fn operator_delimiter(src: &str, j: usize, allow_space: bool) -> Option<(char, usize)> {
    let mut k = j;
    let rest = &src[j..];
    let mut cs = rest.char_indices();
    loop {
        let (o, c) = cs.next()?;
        if c == ' ' && allow_space {
            continue;
        }
        k += o;
        let ok = !(c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | ',' | ';' | ')' | '=' | '>' | '.'));
        return ok.then_some((c, k + c.len_utf8()));
    }
}

/// Splits program text into tokens for the given language.
pub fn tokens(src: &str, lang: &Interpreter) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let push = |out: &mut Vec<Token>, tok, start, end| out.push(Token { tok, start, end });
    while let Some(c) = src[i..].chars().next() {
        let start = i;
        let len = c.len_utf8();
        match c {
            '\n' | ';' => {
                push(&mut out, Tok::End, start, start + len);
                i += len;
            }
            '(' | '[' | '{' => {
                push(&mut out, Tok::Open, start, start + 1);
                i += 1;
            }
            ')' | ']' | '}' => {
                push(&mut out, Tok::Close, start, start + 1);
                i += 1;
            }
            '`' if lang.backticks != Backticks::None => {
                let (text, end) = delimited(src, i + 1, '`');
                let tok = if lang.backticks == Backticks::Command {
                    Tok::Cmd(text)
                } else {
                    Tok::Str(text)
                };
                push(&mut out, tok, start, end);
                i = end;
            }
            c if lang.quotes.contains(c) => {
                let (text, end) = string_at(src, i, c, lang.triple_quotes);
                push(&mut out, Tok::Str(text), start, end);
                i = end;
            }
            c if c.is_alphabetic() || c == '_' || c == '%' => {
                // A name; maybe a quote operator (`qx(…)`, `%w[…]`).
                let mut j = i + len;
                if c != '%' {
                    while let Some(d) = src[j..].chars().next() {
                        if d.is_alphanumeric() || d == '_' {
                            j += d.len_utf8();
                        } else {
                            break;
                        }
                    }
                } else if let Some(d) = src[j..].chars().next() {
                    if d.is_ascii_alphabetic() {
                        j += 1;
                    }
                }
                let word = &src[i..j];
                let preceded = src[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | '$' | '@' | '.'));
                let is_cmd = lang.command_ops.iter().any(|o| o == word);
                let is_str = lang.string_ops.iter().any(|o| o == word);
                if (is_cmd || is_str) && !preceded {
                    if let Some((open, body)) = operator_delimiter(src, j, c != '%') {
                        let (text, end) = delimited(src, body, open);
                        let tok = if is_cmd {
                            Tok::Cmd(text)
                        } else {
                            Tok::Str(text)
                        };
                        push(&mut out, tok, start, end);
                        i = end;
                        continue;
                    }
                }
                push(&mut out, Tok::Other, start, j);
                i = j;
            }
            _ => {
                if !c.is_whitespace() {
                    push(&mut out, Tok::Other, start, start + len);
                }
                i += len;
            }
        }
    }
    out
}

/// The strings and command quotes of the call whose arguments start at byte `at` (just
/// after `system(` or `exec `): up to the bracket that closes the call, or the end of
/// the statement.
pub fn call_strings(toks: &[Token], at: usize) -> Vec<String> {
    let mut depth = 0usize;
    let mut out = Vec::new();
    for t in toks.iter().filter(|t| t.start >= at) {
        match &t.tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            Tok::End if depth == 0 => break,
            Tok::Str(s) | Tok::Cmd(s) => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

/// The first string starting at or after byte `at` when nothing but blanks comes before it.
pub fn string_after(src: &str, toks: &[Token], at: usize) -> Option<String> {
    let t = toks.iter().find(|t| t.start >= at)?;
    match &t.tok {
        Tok::Str(s) if src[at..t.start].trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Quotes one word for a shell command line (single quotes unless it needs none).
pub fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-' | '~'
                )
        });
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// An argument vector as a command line. `execvp("sh", ["sh", "-c", …])` names the
/// program twice: the first is dropped when the second is the same program.
pub fn argv_line(args: &[String]) -> String {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let args = if args.len() >= 2 && base(&args[0]) == base(&args[1]) {
        &args[1..]
    } else {
        args
    };
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command a pipe-mode `open` runs: `"|cmd"`, `"cmd|"`, or the arguments after a
/// `"-|"` / `"|-"` mode.
pub fn pipe_command(strings: &[String]) -> Option<String> {
    if let Some(k) = strings.iter().position(|s| s == "-|" || s == "|-") {
        let rest = &strings[k + 1..];
        return (!rest.is_empty()).then(|| {
            if rest.len() == 1 {
                rest[0].clone()
            } else {
                argv_line(rest)
            }
        });
    }
    strings.iter().find_map(|s| {
        let t = s.trim();
        if let Some(c) = t.strip_prefix('|') {
            Some(c.trim().to_string())
        } else {
            t.strip_suffix('|').map(|c| c.trim().to_string())
        }
        .filter(|c| !c.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;

    fn lang(name: &str) -> Interpreter {
        Classifier::builtin()
            .rules
            .interpreter(name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    }

    fn strs(src: &str, l: &Interpreter) -> Vec<Tok> {
        tokens(src, l)
            .into_iter()
            .map(|t| t.tok)
            .filter(|t| matches!(t, Tok::Str(_) | Tok::Cmd(_)))
            .collect()
    }

    #[test]
    fn strings_and_command_quotes() {
        let perl = lang("perl");
        assert_eq!(
            strs(
                r#"system("rm -rf /"); print `id`; qx{ls -l}; q(a); $qx"#,
                &perl
            ),
            vec![
                Tok::Str("rm -rf /".into()),
                Tok::Cmd("id".into()),
                Tok::Cmd("ls -l".into()),
                Tok::Str("a".into()),
            ]
        );
        let py = lang("python3");
        assert_eq!(
            strs(r#"x = '''a'b''' + "c\"d" + 'e\\'"#, &py),
            vec![
                Tok::Str("a'b".into()),
                Tok::Str("c\"d".into()),
                Tok::Str("e\\".into())
            ]
        );
        let ruby = lang("ruby");
        assert_eq!(
            strs("%x(rm -rf /); %w[a b]; 10 % 3", &ruby),
            vec![Tok::Cmd("rm -rf /".into()), Tok::Str("a b".into())]
        );
        let node = lang("node");
        assert_eq!(strs("`rm ${x}`", &node), vec![Tok::Str("rm ${x}".into())]);
    }

    #[test]
    fn call_arguments() {
        let py = lang("python3");
        let src =
            r#"import subprocess; subprocess.run(["rm", "-rf", "/"], check=True); print("x")"#;
        let toks = tokens(src, &py);
        let at = src.find("run(").unwrap() + 4;
        assert_eq!(call_strings(&toks, at), vec!["rm", "-rf", "/"]);
        let perl = lang("perl");
        let src = r#"exec "rm", "-rf", "/"; print "no""#;
        let toks = tokens(src, &perl);
        assert_eq!(call_strings(&toks, 4), vec!["rm", "-rf", "/"]);
    }

    #[test]
    fn argv_and_pipes() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(argv_line(&v(&["rm", "-rf", "/"])), "rm -rf /");
        assert_eq!(
            argv_line(&v(&["/bin/sh", "sh", "-c", "rm -rf /"])),
            "sh -c 'rm -rf /'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(pipe_command(&v(&["|sh"])), Some("sh".into()));
        assert_eq!(pipe_command(&v(&["rm -rf / |"])), Some("rm -rf /".into()));
        assert_eq!(
            pipe_command(&v(&["-|", "rm", "-rf", "/"])),
            Some("rm -rf /".into())
        );
        assert_eq!(pipe_command(&v(&["<", "file"])), None);
    }
}
