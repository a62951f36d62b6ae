//! The wizard's one-line answers: a small line editor on crossterm with the editing keys of a
//! shell (inquire's text prompt types a `u` for Ctrl-U). The answer is checked on Enter; a
//! refusal is shown under the line and the answer stays for correcting.
//!
//! Keys: characters insert; Backspace, Delete; Left, Right, Home/Ctrl-A, End/Ctrl-E;
//! Ctrl-U deletes to the start of the line, Ctrl-K to its end, Ctrl-W the word before the
//! cursor; Tab completes from the question's suggestions (the one that contains what is typed,
//! or the list of those that do); Enter answers; Ctrl-C and Esc stop.

use std::io::{IsTerminal as _, Write as _};

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::style::{Print, Stylize as _};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, queue};
use inquire::InquireError;

/// A check of an answer: `Err` says what is wrong.
pub type Check = Box<dyn Fn(&str) -> Result<(), String>>;

/// One question answered on one line.
pub struct LineInput {
    prompt: String,
    help: Option<String>,
    initial: String,
    placeholder: Option<String>,
    check: Option<Check>,
    suggestions: Vec<String>,
}

impl LineInput {
    /// A question with `prompt`.
    pub fn new(prompt: &str) -> LineInput {
        LineInput {
            prompt: prompt.to_owned(),
            help: None,
            initial: String::new(),
            placeholder: None,
            check: None,
            suggestions: Vec::new(),
        }
    }

    /// One line of help under the question.
    pub fn with_help_message(mut self, help: &str) -> LineInput {
        self.help = Some(help.to_owned());
        self
    }

    /// The answer proposed, editable.
    pub fn with_initial_value(mut self, value: &str) -> LineInput {
        self.initial = value.to_owned();
        self
    }

    /// Shown greyed while the answer is empty.
    pub fn with_placeholder(mut self, placeholder: &str) -> LineInput {
        self.placeholder = Some(placeholder.to_owned());
        self
    }

    /// Answers Tab offers (e.g. the claim names of Azure AD and AD FS).
    pub fn with_suggestions(mut self, suggestions: Vec<String>) -> LineInput {
        self.suggestions = suggestions;
        self
    }

    /// The suggestions that contain `text`, without regard to ASCII case.
    fn matching(&self, text: &str) -> Vec<&str> {
        let text = text.to_ascii_lowercase();
        self.suggestions
            .iter()
            .filter(|s| s.to_ascii_lowercase().contains(&text))
            .map(String::as_str)
            .collect()
    }

    /// The check of the answer on Enter.
    pub fn with_validator(
        mut self,
        check: impl Fn(&str) -> Result<(), String> + 'static,
    ) -> LineInput {
        self.check = Some(Box::new(check));
        self
    }

    /// Asks on the terminal: the answer, or why there is none (Ctrl-C, Esc, no terminal).
    pub fn prompt(self) -> Result<String, InquireError> {
        if !std::io::stdin().is_terminal() {
            return Err(InquireError::NotTTY);
        }
        terminal::enable_raw_mode().map_err(InquireError::IO)?;
        let result = self.edit();
        let restored = terminal::disable_raw_mode();
        let answer = result?;
        restored.map_err(InquireError::IO)?;
        Ok(answer)
    }

    fn edit(&self) -> Result<String, InquireError> {
        let mut line = Line::new(&self.initial);
        let mut error: Option<String> = None;
        // The row of the cursor within the question (a long line wraps), for the next redraw.
        let mut row = 0;
        loop {
            row = self.draw(&line, error.as_deref(), false, row)?;
            let Event::Key(key) = event::read().map_err(InquireError::IO)? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if key.code == KeyCode::Tab && !self.suggestions.is_empty() {
                match self.matching(&line.text()).as_slice() {
                    [one] => {
                        line = Line::new(one);
                        error = None;
                    }
                    [] => error = Some("no suggestion contains this".to_owned()),
                    several => error = Some(format!("Tab: {}", several.join("  |  "))),
                }
                continue;
            }
            match line.apply(key) {
                Edit::Changed => error = None,
                Edit::Moved | Edit::Ignored => {}
                Edit::Submit => {
                    let answer = line.text();
                    match self.check.as_ref().map_or(Ok(()), |check| check(&answer)) {
                        Ok(()) => {
                            self.draw(&line, None, true, row)?;
                            return Ok(answer);
                        }
                        Err(message) => error = Some(message),
                    }
                }
                Edit::Interrupt => {
                    self.draw(&line, None, true, row)?;
                    return Err(InquireError::OperationInterrupted);
                }
                Edit::Cancel => {
                    self.draw(&line, None, true, row)?;
                    return Err(InquireError::OperationCanceled);
                }
            }
        }
    }

    /// Redraws the question from the start of its first row (`row`: where the cursor was
    /// within it): the prompt and the answer, then the help or the refusal below (none when
    /// `done`), the cursor left in the answer. Returns the cursor's row within the question.
    fn draw(
        &self,
        line: &Line,
        error: Option<&str>,
        done: bool,
        row: usize,
    ) -> Result<usize, InquireError> {
        let io = InquireError::IO;
        let width = usize::from(terminal::size().map_or(80, |(w, _)| w)).max(1);
        let rows_of = |len: usize| len.saturating_sub(1) / width;
        let mut out = std::io::stderr().lock();
        if row > 0 {
            queue!(out, cursor::MoveUp(u16::try_from(row).unwrap_or(u16::MAX))).map_err(io)?;
        }
        let text = line.text();
        queue!(
            out,
            cursor::MoveToColumn(0),
            terminal::Clear(ClearType::FromCursorDown),
            Print("? ".green()),
            Print(self.prompt.as_str().bold()),
            Print(" "),
        )
        .map_err(io)?;
        let lead = 2 + self.prompt.chars().count() + 1;
        let mut shown = text.chars().count();
        match (&self.placeholder, done) {
            (_, true) => queue!(out, Print(text.as_str().cyan()), Print("\r\n")).map_err(io)?,
            (Some(placeholder), false) if text.is_empty() => {
                shown = placeholder.chars().count();
                queue!(out, Print(placeholder.as_str().dark_grey())).map_err(io)?;
            }
            _ => queue!(out, Print(text.as_str())).map_err(io)?,
        }
        if done {
            out.flush().map_err(io)?;
            return Ok(0);
        }
        let mut at = rows_of(lead + shown);
        let below = match (error, &self.help) {
            (Some(error), _) => Some(format!("# {error}")),
            (None, Some(help)) => Some(format!("[{help}]")),
            (None, None) => None,
        };
        if let Some(below) = below {
            let styled = if error.is_some() {
                below.as_str().red()
            } else {
                below.as_str().dark_cyan()
            };
            queue!(out, Print("\r\n"), Print(styled)).map_err(io)?;
            at += 1 + rows_of(below.chars().count());
        }
        let target = lead + line.cursor;
        let target_row = target / width;
        // "Up 0" is "up 1" to a terminal: only when there is a row to go up.
        let up = at.saturating_sub(target_row);
        if up > 0 {
            queue!(out, cursor::MoveUp(u16::try_from(up).unwrap_or(u16::MAX))).map_err(io)?;
        }
        queue!(
            out,
            cursor::MoveToColumn(u16::try_from(target % width).unwrap_or(0))
        )
        .map_err(io)?;
        out.flush().map_err(io)?;
        Ok(target_row)
    }
}

/// What a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Changed,
    Moved,
    Ignored,
    Submit,
    Interrupt,
    Cancel,
}

/// The text being edited and the cursor (a char index). Pure: keys in, changes out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    chars: Vec<char>,
    cursor: usize,
}

impl Line {
    fn new(initial: &str) -> Line {
        let chars: Vec<char> = initial.chars().collect();
        Line {
            cursor: chars.len(),
            chars,
        }
    }

    fn text(&self) -> String {
        self.chars.iter().collect()
    }

    fn apply(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => Edit::Submit,
            KeyCode::Esc => Edit::Cancel,
            KeyCode::Char('c') if ctrl => Edit::Interrupt,
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::Char('k') if ctrl => {
                self.chars.truncate(self.cursor);
                Edit::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let mut start = self.cursor;
                while start > 0 && self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.chars.drain(start..self.cursor);
                self.cursor = start;
                Edit::Changed
            }
            KeyCode::Char('a') if ctrl => self.move_to(0),
            KeyCode::Char('e') if ctrl => self.move_to(self.chars.len()),
            KeyCode::Char('b') if ctrl => self.move_to(self.cursor.saturating_sub(1)),
            KeyCode::Char('f') if ctrl => self.move_to(self.cursor + 1),
            KeyCode::Char('h') if ctrl => self.backspace(),
            KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => Edit::Ignored,
            KeyCode::Char(c) => {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
                Edit::Changed
            }
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
                Edit::Changed
            }
            KeyCode::Left => self.move_to(self.cursor.saturating_sub(1)),
            KeyCode::Right => self.move_to(self.cursor + 1),
            KeyCode::Home => self.move_to(0),
            KeyCode::End => self.move_to(self.chars.len()),
            _ => Edit::Ignored,
        }
    }

    fn backspace(&mut self) -> Edit {
        if self.cursor == 0 {
            return Edit::Ignored;
        }
        self.cursor -= 1;
        self.chars.remove(self.cursor);
        Edit::Changed
    }

    fn move_to(&mut self, cursor: usize) -> Edit {
        self.cursor = cursor.min(self.chars.len());
        Edit::Moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn typed(line: &mut Line, text: &str) {
        for c in text.chars() {
            line.apply(key(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn ctrl_u_deletes_to_the_start_of_the_line_and_types_no_u() {
        let mut line = Line::new("https://wrong.example");
        assert_eq!(
            line.apply(key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
            Edit::Changed
        );
        assert_eq!(line.text(), "");
        typed(&mut line, "https://idp/md");
        line.apply(key(KeyCode::Left, KeyModifiers::NONE));
        line.apply(key(KeyCode::Left, KeyModifiers::NONE));
        line.apply(key(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(line.text(), "md");
        assert_eq!(line.cursor, 0);
    }

    #[test]
    fn the_other_editing_keys() {
        let mut line = Line::new("one two three");
        line.apply(key(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(line.text(), "one two ");
        line.apply(key(KeyCode::Char('a'), KeyModifiers::CONTROL));
        line.apply(key(KeyCode::Right, KeyModifiers::NONE));
        line.apply(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
        assert_eq!(line.text(), "o");
        typed(&mut line, "K");
        line.apply(key(KeyCode::Backspace, KeyModifiers::NONE));
        line.apply(key(KeyCode::Home, KeyModifiers::NONE));
        line.apply(key(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(line.text(), "");
        line.apply(key(KeyCode::Char('x'), KeyModifiers::ALT));
        assert_eq!(line.text(), "");
        assert_eq!(
            line.apply(key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Edit::Interrupt
        );
        assert_eq!(
            line.apply(key(KeyCode::Esc, KeyModifiers::NONE)),
            Edit::Cancel
        );
        assert_eq!(
            line.apply(key(KeyCode::Enter, KeyModifiers::NONE)),
            Edit::Submit
        );
    }
}
