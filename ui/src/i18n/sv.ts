import type { MessageKey } from "./en";

// Svenska.
export const sv: Record<MessageKey, string> = {
  "app.loading": "Ansluter till noden…",
  "app.disconnected": "Förlorade anslutningen till noden; ansluter igen…",
  "app.noToken":
    "Sidan behöver länken som `plenum up` skrev ut (den slutar med #token=…). Öppna den länken igen.",
  "app.language": "Språk",
  "app.error": "Något gick fel: {message}",
  "app.dismiss": "Stäng meddelandet",

  "firstRun.heading": "Välkommen till Plenum",
  "firstRun.intro":
    "Plenum sparar gruppens chatt, dokument och tavlor krypterade på den här enheten och synkar dem direkt med de andra medlemmarnas enheter.",
  "firstRun.name": "Ditt namn",
  "firstRun.nameHelp": "De andra medlemmarna i dina grupper ser det här namnet.",
  "firstRun.passphrase": "Lösenfras",
  "firstRun.passphraseRepeat": "Upprepa lösenfrasen",
  "firstRun.passphraseHelp":
    "Den skyddar allt på den här enheten. Den går inte att återställa om du glömmer den.",
  "firstRun.mismatch": "Lösenfraserna är olika.",
  "firstRun.create": "Skapa profil",
  "firstRun.creating": "Skapar din profil (det tar en sekund)…",

  "unlock.heading": "Lås upp Plenum",
  "unlock.intro": "Profilen på den här enheten skyddas av en lösenfras.",
  "unlock.passphrase": "Lösenfras",
  "unlock.submit": "Lås upp",
  "unlock.working": "Låser upp…",

  "start.heading": "Du är inte med i någon grupp än",
  "start.intro": "Grunda en grupp, eller gå med i en med en inbjudningslänk från en medlem.",

  "group.new": "Ny grupp",
  "group.name": "Gruppens namn",
  "group.create": "Skapa",
  "group.list": "Grupper",
  "group.members": "{count} medlemmar",
  "group.removed":
    "Du är inte längre medlem i den här gruppen; det du hade går fortfarande att läsa här.",
  "join.open": "Gå med via länk",
  "join.link": "Inbjudningslänk",
  "join.submit": "Gå med",
  "join.working": "Letar efter en medlem som kan släppa in dig…",
  "join.help": "Klistra in plenum://join/…-länken som en medlem gav dig.",

  "dialog.close": "Stäng",
  "dialog.cancel": "Avbryt",

  "channel.list": "Kanaler",
  "channel.new": "Ny kanal",
  "channel.name": "Kanalens namn",
  "channel.create": "Skapa kanal",
  "channel.unread": "{count} olästa",

  "chat.messages": "Meddelanden",
  "chat.message": "Meddelande",
  "chat.send": "Skicka",
  "chat.empty": "Inga meddelanden än. Säg hej.",
  "chat.edited": "redigerat",
  "chat.deleted": "Meddelandet har raderats.",
  "chat.saved": "sparat",
  "chat.seen": "sett av en annan enhet",
  "chat.sending": "skickar…",
  "chat.newMessages": "Nya meddelanden",
  "chat.hidden": "Dolt av en administratör",

  "invite.open": "Bjud in",
  "invite.heading": "Bjud in någon till {group}",
  "invite.uses": "Hur många personer den släpper in",
  "invite.expires": "Giltig i",
  "invite.hours": "{count} timmar",
  "invite.days": "{count} dagar",
  "invite.create": "Skapa inbjudan",
  "invite.link": "Inbjudningslänk",
  "invite.qr": "QR-kod för inbjudan",
  "invite.copy": "Kopiera länken",
  "invite.copied": "Kopierad",
  "invite.help":
    "Alla som har länken kan gå med medan den är giltig. Lämna den personligen eller i en kanal du litar på.",
};
