import type { MessageKey } from "./en";

// Deutsch.
export const de: Record<MessageKey, string> = {
  "app.loading": "Verbindung zum Knoten wird aufgebaut…",
  "app.disconnected": "Verbindung zum Knoten verloren; neuer Versuch läuft…",
  "app.noToken":
    "Diese Seite braucht den Link, den `plenum up` ausgegeben hat (er endet auf #token=…). Öffne diesen Link erneut.",
  "app.language": "Sprache",
  "app.error": "Etwas ist schiefgegangen: {message}",
  "app.dismiss": "Ausblenden",

  "firstRun.heading": "Willkommen bei Plenum",
  "firstRun.intro":
    "Plenum speichert Chat, Dokumente und Boards deiner Gruppe verschlüsselt auf diesem Gerät und gleicht sie direkt mit den Geräten der anderen Mitglieder ab.",
  "firstRun.name": "Dein Name",
  "firstRun.nameHelp": "Die anderen Mitglieder deiner Gruppen sehen diesen Namen.",
  "firstRun.passphrase": "Neue Passphrase",
  "firstRun.passphraseRepeat": "Passphrase wiederholen",
  "firstRun.passphraseHelp":
    "Sie schützt alles auf diesem Gerät. Wenn du sie vergisst, lässt sie sich nicht wiederherstellen.",
  "firstRun.mismatch": "Die beiden Passphrasen stimmen nicht überein.",
  "firstRun.create": "Profil anlegen",
  "firstRun.creating": "Dein Profil wird angelegt (das dauert eine Sekunde)…",

  "unlock.heading": "Plenum entsperren",
  "unlock.intro": "Das Profil auf diesem Gerät ist durch eine Passphrase geschützt.",
  "unlock.passphrase": "Deine Passphrase",
  "unlock.submit": "Entsperren",
  "unlock.working": "Wird entsperrt…",

  "start.heading": "Du bist noch in keiner Gruppe",
  "start.intro": "Gründe eine Gruppe oder tritt mit dem Einladungslink eines Mitglieds einer bei.",

  "group.new": "Neue Gruppe",
  "group.name": "Name der Gruppe",
  "group.create": "Anlegen",
  "group.list": "Gruppen",
  "group.members": "{count} Mitglieder",
  "group.removed":
    "Du bist kein Mitglied dieser Gruppe mehr; was du hattest, bleibt hier lesbar.",
  "join.open": "Mit Link beitreten",
  "join.link": "Einladungslink",
  "join.submit": "Beitreten",
  "join.working": "Suche ein Mitglied, das dich aufnehmen kann…",
  "join.help": "Füge den plenum://join/…-Link ein, den dir ein Mitglied gegeben hat.",

  "dialog.close": "Schließen",
  "dialog.cancel": "Abbrechen",

  "channel.list": "Kanäle",
  "channel.new": "Neuer Kanal",
  "channel.name": "Name des Kanals",
  "channel.create": "Kanal anlegen",
  "channel.unread": "{count} ungelesen",

  "chat.messages": "Nachrichten",
  "chat.message": "Nachricht",
  "chat.send": "Senden",
  "chat.empty": "Noch keine Nachrichten. Sag hallo.",
  "chat.edited": "bearbeitet",
  "chat.deleted": "Diese Nachricht wurde gelöscht.",
  "chat.saved": "gespeichert",
  "chat.seen": "von einem anderen Gerät gesehen",
  "chat.sending": "wird gesendet…",
  "chat.newMessages": "Neue Nachrichten",
  "chat.hidden": "Von einer Admin-Person ausgeblendet",

  "invite.open": "Einladen",
  "invite.heading": "Jemanden zu {group} einladen",
  "invite.uses": "Wie viele Personen damit beitreten können",
  "invite.expires": "Gültig für",
  "invite.hours": "{count} Stunden",
  "invite.days": "{count} Tage",
  "invite.create": "Einladung erstellen",
  "invite.link": "Einladungslink",
  "invite.qr": "QR-Code der Einladung",
  "invite.copy": "Link kopieren",
  "invite.copied": "Kopiert",
  "invite.help":
    "Alle, die diesen Link haben, können beitreten, solange er gilt. Gib ihn persönlich weiter oder über einen Kanal, dem du vertraust.",
};
