//! Every fixture in `core/tests/fixtures/import/whatsapp/`, message by message.

use super::*;
use crate::import::archive::tests::make_zip;
use crate::time::Timestamp;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/import/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (time, author, text, attachments, omitted) of each message.
type Row = (String, String, String, Vec<String>, bool);

fn rows(chat: &ImportedChat) -> Vec<Row> {
    chat.messages
        .iter()
        .map(|m| {
            (
                Timestamp(m.time_ms).to_string(),
                m.author.clone(),
                m.text.clone(),
                m.attachments.clone(),
                m.media_omitted,
            )
        })
        .collect()
}

fn row(time: &str, author: &str, text: &str) -> Row {
    (time.into(), author.into(), text.into(), Vec::new(), false)
}

fn with_file(time: &str, author: &str, text: &str, file: &str) -> Row {
    (
        time.into(),
        author.into(),
        text.into(),
        vec![file.into()],
        false,
    )
}

fn omitted(time: &str, author: &str) -> Row {
    (time.into(), author.into(), String::new(), Vec::new(), true)
}

fn parse_fixture(name: &str) -> ImportedChat {
    parse(&fixture(name), name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn android_month_first_24_hour_with_system_lines_and_multi_line_messages() {
    let chat = parse_fixture("android-us-24h.txt");
    assert_eq!(
        rows(&chat),
        [
            row(
                "2021-12-31T23:58:00.000Z",
                "Ana",
                "Meeting on Thursday, 7pm"
            ),
            row(
                "2021-12-31T23:59:00.000Z",
                "Ben",
                "Agenda:\n1. rent strike\n2. repairs\n\nbring snacks"
            ),
            omitted("2022-01-13T08:05:00.000Z", "Ben"),
            row(
                "2022-01-13T08:06:00.000Z",
                "+49 151 2345678",
                "Who is this?"
            ),
        ]
    );
    // The encryption notice, "created group", "added", "left".
    assert_eq!(chat.skipped, 4);
}

#[test]
fn ios_german_bracketed_with_marks_and_attachments() {
    let chat = parse_fixture("ios-de-bracketed.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2022-01-01T00:00:05.000Z", "Ana", "Frohes neues Jahr!"),
            with_file(
                "2022-01-01T00:01:10.000Z",
                "Ben Müller",
                "",
                "00000012-PHOTO-2022-01-01-00-01-10.jpg"
            ),
            row(
                "2022-01-01T00:02:00.000Z",
                "Ben Müller",
                "Das Foto vom Treffen\nund noch eine Zeile"
            ),
            omitted("2022-01-01T00:03:00.000Z", "Ana"),
        ]
    );
    assert_eq!(chat.skipped, 2);
}

#[test]
fn twelve_hour_clock_with_narrow_no_break_spaces() {
    let chat = parse_fixture("android-us-12h.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2022-01-02T15:04:00.000Z", "Ana", "Flyer draft attached"),
            with_file(
                "2022-01-02T15:05:00.000Z",
                "Ana",
                "This is the front side",
                "IMG-20220102-WA0001.jpg"
            ),
            row(
                "2022-01-02T00:30:00.000Z",
                "Ben",
                "late reply (12:30 AM is just after midnight)"
            ),
            row("2022-01-03T12:15:00.000Z", "Ben", "lunch time"),
        ]
    );
}

#[test]
fn spanish_p_m_forms() {
    let chat = parse_fixture("android-es-pm.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2021-12-31T23:59:00.000Z", "Ana", "¡Feliz año!"),
            row("2022-01-01T00:01:00.000Z", "Beto", "Igualmente"),
            omitted("2022-01-01T13:15:00.000Z", "Beto"),
            row("2022-01-01T13:16:00.000Z", "Ana", "Ana añadió a Carla"),
        ]
    );
    assert_eq!(chat.skipped, 1);
}

#[test]
fn german_dotted_dates() {
    let chat = parse_fixture("android-de-dotted.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2021-12-31T23:59:00.000Z", "Ana", "Treffen am Donnerstag"),
            omitted("2022-01-01T10:01:00.000Z", "Ben"),
            row("2022-01-02T18:30:00.000Z", "Ben", "Danke!"),
        ]
    );
    assert_eq!(chat.skipped, 1);
}

#[test]
fn day_first_inferred_from_dates_running_forward() {
    let chat = parse_fixture("ambiguous-day-first.txt");
    let times: Vec<String> = rows(&chat).into_iter().map(|r| r.0).collect();
    assert_eq!(
        times,
        [
            "2022-01-05T10:00:00.000Z",
            "2022-01-06T10:00:00.000Z",
            "2022-02-01T10:00:00.000Z",
            "2022-02-02T10:00:00.000Z",
        ]
    );
}

#[test]
fn a_day_over_12_decides_the_order() {
    let chat = parse_fixture("day-over-12.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2022-01-01T09:00:00.000Z", "Ana", "one"),
            row("2022-01-13T09:00:00.000Z", "Ben", "thirteen"),
            row("2022-03-02T21:45:00.000Z", "Ana", "second of March"),
        ]
    );
}

#[test]
fn ios_english_twelve_hour_with_marks() {
    let chat = parse_fixture("ios-en-12h.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2022-01-02T15:04:05.000Z", "Ana", "hello there"),
            with_file(
                "2022-01-02T15:04:30.000Z",
                "Ben",
                "",
                "00000012-PHOTO-2022-01-02-15-04-30.jpg"
            ),
            omitted("2022-01-02T15:05:00.000Z", "Ben"),
            row("2022-01-13T09:00:00.000Z", "Carla", "thanks for adding me"),
        ]
    );
    assert_eq!(chat.skipped, 1);
}

#[test]
fn year_first_dates() {
    let chat = parse_fixture("year-first.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2021-12-31T23:59:00.000Z", "Ana", "Gott nytt år"),
            row("2022-01-01T00:00:00.000Z", "Ben", "Detsamma"),
        ]
    );
}

#[test]
fn windows_line_endings_byte_order_mark_and_identical_messages() {
    let chat = parse_fixture("crlf-bom-duplicates.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2021-12-31T20:00:00.000Z", "Ana", "ok"),
            row("2021-12-31T20:00:00.000Z", "Ana", "ok"),
            row("2021-12-31T20:01:00.000Z", "Ben", "two lines\nsecond line"),
        ]
    );
}

#[test]
fn right_to_left_marks_are_dropped() {
    let chat = parse_fixture("arabic-marks.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2021-12-31T20:00:00.000Z", "علي", "مرحبا"),
            row("2021-12-31T20:02:00.000Z", "Ana", "hi Ali"),
        ]
    );
}

#[test]
fn edit_markers_are_dropped_and_deleted_messages_skipped() {
    let chat = parse_fixture("edited-deleted.txt");
    assert_eq!(
        rows(&chat),
        [
            row("2023-04-03T18:00:00.000Z", "Ana", "Meeting moved to 8pm"),
            row("2023-04-03T18:03:00.000Z", "Carla", "Treffen um 20 Uhr"),
            row(
                "2023-04-03T18:05:00.000Z",
                "Ben",
                "ok, deleted messages are gone"
            ),
        ]
    );
    assert_eq!(chat.skipped, 3);
}

#[test]
fn a_zip_export_reads_its_chat_and_names_the_chat() {
    let text = fixture("ios-en-12h.txt");
    let zip = make_zip(&[
        ("00000012-PHOTO-2022-01-02-15-04-30.jpg", b"\xff\xd8\xff"),
        ("_chat.txt", &text),
    ]);
    let chat = parse(&zip, "WhatsApp Chat - Tenants.zip").unwrap();
    assert_eq!(chat.name.as_deref(), Some("Tenants"));
    assert_eq!(rows(&chat), rows(&parse_fixture("ios-en-12h.txt")));
    let android = make_zip(&[(
        "WhatsApp Chat with Tenants Union.txt",
        &fixture("android-us-24h.txt"),
    )]);
    let chat = parse(&android, "export.zip").unwrap();
    assert_eq!(chat.name.as_deref(), Some("Tenants Union"));
    assert_eq!(chat.messages.len(), 4);
}

#[test]
fn the_local_time_offset_shifts_every_message() {
    let chat = parse_at_offset(&fixture("year-first.txt"), "x.txt", 60).unwrap();
    assert_eq!(
        Timestamp(chat.messages[0].time_ms).to_string(),
        "2021-12-31T22:59:00.000Z"
    );
}

#[test]
fn what_is_not_a_whatsapp_export_is_refused_clearly() {
    let err = parse(b"hello\nworld\n", "notes.txt").unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    let err = parse(b"", "empty.txt").unwrap_err();
    assert!(err.to_string().contains("WhatsApp"), "{err}");
    let err = parse(b"31/12/21, 23:59 - Ana added Ben\n", "x.txt").unwrap_err();
    assert!(matches!(err, ImportError::Empty(_)), "{err}");
    let err = parse(
        b"31/13/21, 23:59 - Ana: x\n13/31/21, 23:59 - Ben: y\n",
        "x.txt",
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a date"), "{err}");
    let err = parse(b"31/12/21, 23:59 - Ana: ok\n\xc3\x28 broken\n", "x.txt").unwrap_err();
    assert_eq!(err, ImportError::NotUtf8 { line: 2 });
    let zip = make_zip(&[("a.jpg", b"x")]);
    let err = parse(&zip, "x.zip").unwrap_err();
    assert!(err.to_string().contains("no chat text"), "{err}");
}
