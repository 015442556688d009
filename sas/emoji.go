package sas

// Emoji is one of the 64 pictures of the emoji SAS method, with the English
// name clients show beside it (Matrix spec, "SAS method: emoji").
type Emoji struct {
	Symbol string
	Name   string
}

var emojiTable = [64]Emoji{
	{"🐶", "Dog"},        // 0
	{"🐱", "Cat"},        // 1
	{"🦁", "Lion"},       // 2
	{"🐎", "Horse"},      // 3
	{"🦄", "Unicorn"},    // 4
	{"🐷", "Pig"},        // 5
	{"🐘", "Elephant"},   // 6
	{"🐰", "Rabbit"},     // 7
	{"🐼", "Panda"},      // 8
	{"🐓", "Rooster"},    // 9
	{"🐧", "Penguin"},    // 10
	{"🐢", "Turtle"},     // 11
	{"🐟", "Fish"},       // 12
	{"🐙", "Octopus"},    // 13
	{"🦋", "Butterfly"},  // 14
	{"🌷", "Flower"},     // 15
	{"🌳", "Tree"},       // 16
	{"🌵", "Cactus"},     // 17
	{"🍄", "Mushroom"},   // 18
	{"🌏", "Globe"},      // 19
	{"🌙", "Moon"},       // 20
	{"☁", "Cloud"},      // 21
	{"🔥", "Fire"},       // 22
	{"🍌", "Banana"},     // 23
	{"🍎", "Apple"},      // 24
	{"🍓", "Strawberry"}, // 25
	{"🌽", "Corn"},       // 26
	{"🍕", "Pizza"},      // 27
	{"🎂", "Cake"},       // 28
	{"❤", "Heart"},      // 29
	{"😀", "Smiley"},     // 30
	{"🤖", "Robot"},      // 31
	{"🎩", "Hat"},        // 32
	{"👓", "Glasses"},    // 33
	{"🔧", "Spanner"},    // 34
	{"🎅", "Santa"},      // 35
	{"👍", "Thumbs Up"},  // 36
	{"☂", "Umbrella"},   // 37
	{"⌛", "Hourglass"},  // 38
	{"⏰", "Clock"},      // 39
	{"🎁", "Gift"},       // 40
	{"💡", "Light Bulb"}, // 41
	{"📕", "Book"},       // 42
	{"✏", "Pencil"},     // 43
	{"📎", "Paperclip"},  // 44
	{"✂", "Scissors"},   // 45
	{"🔒", "Lock"},       // 46
	{"🔑", "Key"},        // 47
	{"🔨", "Hammer"},     // 48
	{"☎", "Telephone"},  // 49
	{"🏁", "Flag"},       // 50
	{"🚂", "Train"},      // 51
	{"🚲", "Bicycle"},    // 52
	{"✈", "Aeroplane"},  // 53
	{"🚀", "Rocket"},     // 54
	{"🏆", "Trophy"},     // 55
	{"⚽", "Ball"},       // 56
	{"🎸", "Guitar"},     // 57
	{"🎺", "Trumpet"},    // 58
	{"🔔", "Bell"},       // 59
	{"⚓", "Anchor"},     // 60
	{"🎧", "Headphones"}, // 61
	{"📁", "Folder"},     // 62
	{"📌", "Pin"},        // 63
}
