import { describe, expect, it } from "vitest";
import { catalogues, detectLocale, LOCALES, translate } from "./catalogue";
import { en } from "./en";

const keys = Object.keys(en).sort();

describe("catalogues", () => {
  for (const locale of LOCALES) {
    it(`${locale} has exactly the English keys, none empty`, () => {
      const catalogue = catalogues[locale];
      expect(Object.keys(catalogue).sort()).toEqual(keys);
      for (const key of keys) {
        expect(catalogue[key as keyof typeof en].trim(), key).not.toBe("");
      }
    });
  }

  for (const locale of ["sv", "de"] as const) {
    it(`${locale} strings are translations, not copies of the English`, () => {
      const copies = keys.filter((key) => catalogues[locale][key as keyof typeof en] === en[key as keyof typeof en]);
      expect(copies).toEqual([]);
    });

    it(`${locale} keeps every placeholder of the English`, () => {
      for (const key of keys) {
        const wanted = placeholders(en[key as keyof typeof en]);
        expect(placeholders(catalogues[locale][key as keyof typeof en]), key).toEqual(wanted);
      }
    });
  }

  it("English accessible names are the documented contract", () => {
    expect(translate("en", "chat.message")).toBe("Message");
    expect(translate("en", "chat.send")).toBe("Send");
    expect(translate("en", "chat.messages")).toBe("Messages");
    expect(translate("en", "invite.open")).toBe("Invite");
    expect(translate("en", "invite.link")).toBe("Invite link");
    expect(translate("en", "invite.qr")).toBe("Invite QR code");
    expect(translate("en", "join.open")).toBe("Join with link");
    expect(translate("en", "join.link")).toBe("Invite link");
    expect(translate("en", "join.submit")).toBe("Join");
    expect(translate("en", "group.new")).toBe("New group");
    expect(translate("en", "group.name")).toBe("Group name");
    expect(translate("en", "group.create")).toBe("Create");
    expect(translate("en", "pad.editor")).toBe("Pad");
  });
});

describe("translate", () => {
  it("fills placeholders and leaves unknown ones visible", () => {
    expect(translate("en", "group.members", { count: 3 })).toBe("3 members");
    expect(translate("de", "invite.heading", { group: "Mieterbund" })).toBe(
      "Jemanden zu Mieterbund einladen",
    );
    expect(translate("en", "invite.heading")).toBe("Invite someone to {group}");
  });
});

describe("detectLocale", () => {
  it("takes the first preferred language Plenum speaks", () => {
    expect(detectLocale(["fr-FR", "sv-FI", "de"])).toBe("sv");
    expect(detectLocale(["de-AT"])).toBe("de");
    expect(detectLocale(["EN-gb"])).toBe("en");
  });
  it("falls back to English", () => {
    expect(detectLocale([])).toBe("en");
    expect(detectLocale(["fi", "nb"])).toBe("en");
  });
});

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();
}
