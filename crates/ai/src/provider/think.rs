//! Thoughts written into the answer's text as `<think>…</think>`, as reasoning models do
//! behind servers that do not separate them (Ollama before it did, llama.cpp and vLLM
//! without a reasoning parser, many proxies): they become [`StreamEvent::Reasoning`] like
//! thoughts sent apart, so the answer, its history and its title stay free of them.
//!
//! Only an answer that opens with the tag (after blank space) is split; the tags may
//! arrive cut anywhere across chunks. Once the thoughts end, or when the answer did not
//! open with them, the text passes through untouched.

use super::StreamEvent;

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Default)]
pub(super) struct ThinkTags {
    state: State,
    /// Text held back: the start of the answer while it may still be an opening tag, or
    /// the end of the thoughts while it may be the start of the closing one.
    held: String,
}

#[derive(Default, PartialEq)]
enum State {
    /// Nothing but blank space yet.
    #[default]
    Start,
    Thinking,
    /// The thoughts ended (the blank space after them is dropped).
    AfterThoughts,
    Answer,
}

impl ThinkTags {
    /// A piece of the answer's text, as the events it makes.
    pub(super) fn split(&mut self, text: &str, out: &mut Vec<StreamEvent>) {
        if self.state == State::Answer {
            out.push(StreamEvent::Delta(text.to_owned()));
            return;
        }
        self.held.push_str(text);
        loop {
            match self.state {
                State::Start => {
                    let start = self.held.trim_start();
                    if let Some(rest) = start.strip_prefix(OPEN) {
                        self.held = rest.to_owned();
                        self.state = State::Thinking;
                    } else if OPEN.starts_with(start) {
                        // Blank, or a cut opening tag: wait for more.
                        return;
                    } else {
                        self.state = State::Answer;
                        out.push(StreamEvent::Delta(std::mem::take(&mut self.held)));
                        return;
                    }
                }
                State::Thinking => {
                    if let Some(end) = self.held.find(CLOSE) {
                        let rest = self.held.split_off(end + CLOSE.len());
                        self.held.truncate(end);
                        push_reasoning(std::mem::take(&mut self.held), out);
                        self.held = rest;
                        self.state = State::AfterThoughts;
                        continue;
                    }
                    // Keep back what may be the start of the closing tag.
                    let keep = (1..CLOSE.len())
                        .rev()
                        .find(|n| self.held.ends_with(&CLOSE[..*n]))
                        .unwrap_or(0);
                    let rest = self.held.split_off(self.held.len() - keep);
                    push_reasoning(std::mem::replace(&mut self.held, rest), out);
                    return;
                }
                State::AfterThoughts => {
                    let answer = self.held.trim_start();
                    if answer.is_empty() {
                        self.held.clear();
                        return;
                    }
                    let answer = answer.to_owned();
                    self.held.clear();
                    self.state = State::Answer;
                    out.push(StreamEvent::Delta(answer));
                    return;
                }
                State::Answer => return,
            }
        }
    }

    /// The answer ended: what was held back goes out as what it was.
    pub(super) fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let held = std::mem::take(&mut self.held);
        match self.state {
            State::Thinking => push_reasoning(held, out),
            State::Start if !held.trim().is_empty() => out.push(StreamEvent::Delta(held)),
            _ => {}
        }
    }
}

fn push_reasoning(text: String, out: &mut Vec<StreamEvent>) {
    if !text.is_empty() {
        out.push(StreamEvent::Reasoning(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> (String, String) {
        let mut tags = ThinkTags::default();
        let mut out = Vec::new();
        for p in pieces {
            tags.split(p, &mut out);
        }
        tags.finish(&mut out);
        let (mut thought, mut said) = (String::new(), String::new());
        for ev in out {
            match ev {
                StreamEvent::Reasoning(t) => thought.push_str(&t),
                StreamEvent::Delta(t) => said.push_str(&t),
                other => panic!("{other:?}"),
            }
        }
        (thought, said)
    }

    #[test]
    fn thoughts_in_tags_are_split_from_the_answer_wherever_the_tags_are_cut() {
        let whole = "\n<think>\nTwo and two: four.\n</think>\n\nIt is 4.";
        // Every way of cutting it in two, and one character at a time.
        for i in 0..=whole.len() {
            let (a, b) = whole.split_at(i);
            assert_eq!(
                run(&[a, b]),
                ("\nTwo and two: four.\n".into(), "It is 4.".into()),
                "cut at {i}"
            );
        }
        let chars: Vec<String> = whole.chars().map(String::from).collect();
        let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert_eq!(
            run(&chars),
            ("\nTwo and two: four.\n".into(), "It is 4.".into())
        );
    }

    #[test]
    fn an_answer_that_does_not_open_with_thoughts_is_untouched() {
        for text in [
            "It is 4.",
            "  <thinking> is a tag",
            "<th",
            "Use <think> tags </think> so",
        ] {
            assert_eq!(run(&[text]), (String::new(), text.to_owned()), "{text}");
        }
        // Later tags are text: only the answer's opening counts.
        assert_eq!(
            run(&["Hi ", "<think>x</think>"]),
            (String::new(), "Hi <think>x</think>".into())
        );
        // Blank space alone is no answer.
        assert_eq!(run(&["  \n"]), (String::new(), String::new()));
    }

    #[test]
    fn thoughts_cut_off_before_their_end_are_kept_as_thoughts() {
        assert_eq!(
            run(&["<think>still thinking </thi"]),
            ("still thinking </thi".into(), String::new())
        );
    }
}
