//! Invites, members and leaving from the command line, on one device (joining across
//! the network comes with the sync work; the admission logic is tested in the core).

use plenum_tests::Profile;

#[test]
fn invites_are_created_listed_and_revoked() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let link = p.ok(&[
        "invite",
        "create",
        "Tenants",
        "--uses",
        "3",
        "--expires",
        "24h",
    ]);
    let link = link.trim();
    assert!(link.starts_with("plenum://join/"), "{link}");
    assert!(
        !link.contains("Tenants"),
        "a link never holds the group's name"
    );

    let with_qr = p.ok(&["invite", "create", "Tenants", "--qr"]);
    let lines: Vec<&str> = with_qr.lines().collect();
    assert!(lines[0].starts_with("plenum://join/"));
    assert!(lines.len() > 20, "a QR code follows the link: {with_qr}");

    let invites = p.json(&["invite", "list", "Tenants"]);
    let invites = invites.as_array().expect("a list");
    assert_eq!(invites.len(), 2);
    let three = invites
        .iter()
        .find(|i| i["link"] == link)
        .expect("the first invite is listed with its link");
    assert_eq!(three["uses"], 3);
    assert_eq!(three["used"], 0);
    assert_eq!(three["revoked"], false);
    let id = three["id"].as_str().expect("id").to_owned();

    p.ok(&["invite", "revoke", "Tenants", &id[..8]]);
    let invites = p.json(&["invite", "list", "Tenants"]);
    let revoked = invites
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(revoked["revoked"], true);
    assert!(
        revoked["link"].is_null(),
        "a revoked invite's secret is forgotten"
    );

    let err = p.fails(&["invite", "revoke", "Tenants", &id[..8]]);
    assert!(err.contains("revoked"), "{err}");
    let err = p.fails(&["invite", "revoke", "Tenants", "ffff0000"]);
    assert!(err.contains("invite list"), "{err}");
    let err = p.fails(&["invite", "create", "Tenants", "--uses", "0"]);
    assert!(err.contains("1 to"), "{err}");
    let bad = p.run(&["invite", "create", "Tenants", "--expires", "soon"]);
    assert_eq!(bad.code, Some(2), "a bad duration is a usage error");
}

#[test]
fn members_show_roles_and_safety_numbers_and_the_last_admin_stays() {
    let p = Profile::new("Ana");
    p.ok(&["group", "create", "Tenants"]);
    let members = p.json(&["member", "list", "Tenants"]);
    let me = &members[0];
    assert_eq!(me["name"], "Ana");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["verified"], false);
    let number = me["safety_number"].as_str().expect("safety number");
    assert_eq!(number.split(' ').count(), 6, "{number}");
    assert!(
        number
            .split(' ')
            .all(|g| g.len() == 5 && g.chars().all(|c| c.is_ascii_digit()))
    );
    // The number is stable across processes; verifying is remembered.
    p.ok(&["member", "verify", "Tenants", "Ana"]);
    let again = p.json(&["member", "list", "Tenants"]);
    assert_eq!(again[0]["safety_number"], number);
    assert_eq!(again[0]["verified"], true);
    p.ok(&["member", "verify", "Tenants", "Ana", "--undo"]);
    assert_eq!(p.json(&["member", "list", "Tenants"])[0]["verified"], false);

    let err = p.fails(&["member", "role", "Tenants", "Ana", "member"]);
    assert!(err.contains("last admin"), "{err}");
    let err = p.fails(&["member", "remove", "Tenants", "Ana"]);
    assert!(err.contains("group leave"), "{err}");
    let err = p.fails(&["member", "remove", "Tenants", "Bo"]);
    assert!(err.contains("member list"), "{err}");
}

#[test]
fn leaving_deletes_the_group_and_its_keys_from_the_device() {
    let p = Profile::new("Ana");
    let id = p.ok(&["group", "create", "Tenants"]);
    p.ok(&["chat", "send", "Tenants", "before leaving"]);
    let other = p.ok(&["group", "create", "Neighbours"]);
    p.ok(&["group", "leave", "Tenants"]);
    let groups = p.json(&["group", "list"]);
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Neighbours"]);
    let err = p.fails(&["chat", "log", "Tenants"]);
    assert!(err.contains("group list"), "{err}");
    let err = p.fails(&["group", "show", id.trim()]);
    assert!(err.contains("group list"), "{err}");
    // The other group is untouched.
    p.ok(&["chat", "send", other.trim(), "still here"]);
}
