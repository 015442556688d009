package policy

// BotQuietRuleID names the bot's own override push rule that matches every
// event and asks for no notification.
const BotQuietRuleID = "org.caldicott.quiet"

// KeepBotQuiet keeps the bot from collecting notifications. The bot is in
// every room it guards and reads none of them as a person would, yet a
// homeserver keeps an unread notification for it per message; Dendrite
// v0.15.2 also counts a user's notifications again for each new one, so
// after 30,000 messages that counting kept a core busy. One push rule that
// matches everything and notifies nothing stops it; nothing is done when
// the rule is already there.
func KeepBotQuiet(alreadyQuiet bool) Decision {
	if alreadyQuiet {
		return Decision{}
	}
	return Decision{Actions: []Action{{Kind: QuietBot, Rule: RuleBotQuiet, Text: "nothing notifies the bot", Reason: "the bot reads no room as a person would"}}}
}
