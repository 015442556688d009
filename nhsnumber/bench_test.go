package nhsnumber

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// chatLines is what a ward's Matrix rooms carry: times, doses, observations,
// phone numbers, Matrix IDs and links — digits everywhere, NHS numbers rare.
var chatLines = []string{
	"Morning all, handover at 08:00 in the seminar room please",
	"Bed 14 (Mr T) NEWS2 now 5: RR 24, SpO2 93% on 2L, HR 108, BP 102/64, temp 38.4°C. Can someone review?",
	"On my way, 5 mins",
	"Gentamicin level back: 1.2 mg/L, OK to give next dose at 18:00",
	"Please call the daughter on 07700 900123 after the ward round, she's asked twice",
	"Bloods: Hb 98 g/L, WCC 14.2, CRP 187, Na 131, K 5.4, Cr 142 µmol/L (baseline 88)",
	"@reg.oncall:trust-a.nhs.uk can you see bed 7 before 14:30? Family meeting at 15:00",
	"Pharmacy say the TTO will be ready by 16:45 — discharge lounge after that",
	"CT head reported: no acute intracranial abnormality. Report https://pacs.trust-a.nhs.uk/study/1.2.826.0.1.3680043.8.498.12345",
	"Theatre list changed: case 3 now 11:15, case 4 cancelled (no bed on ITU)",
	"Sepsis six done 02:10, lactate 3.1 → 1.8 after 1 L Hartmann's",
	"👍",
	"Thanks!",
	"Can we get a DoLS form for bed 22? Capacity assessment done 29/11/2026",
	"Ext 4412 for the discharge coordinator, bleep 2231 for the on-call SHO",
	"Warfarin held, INR 4.6 — recheck 1 Dec 08:00, vitamin K 1 mg IV given",
	"Physio: mobilised 20 m with frame, SOB on exertion, for stairs assessment tomorrow",
	"See thread https://matrix.to/#/!ward7:trust-a.nhs.uk/$8hJk2Lq9Xz0PmNb3Vc4Yt5Rw6Ed7Sf8Ug9Ih0Oj1Ak2B for the plan",
	"Insulin sliding scale: BM 14.2 at 22:00, 11.8 at 02:00, 9.6 at 06:00",
	"Fluid balance +1,250 mL over 24 h, urine output 0.4 mL/kg/h — catheter flushed",
	"Patienten\u00adakte aktualisiert · dossier mis à jour · 病历已更新",
	"Reminder: fire drill Thursday 10:30, meet at assembly point B",
	"Referral sent to renal, ref RN-2026-004417, they'll see today",
	"ECG: sinus rhythm 84 bpm, QTc 462 ms, no acute ST changes",
}

// nhsLines carry an NHS number, as a clinician writes one when asking
// about a patient in another team's room.
var nhsLines = []string{
	"Can you check the results for 943 476 5919 please?",
	"NHS no 401-023-2137 for the referral",
	"Re: 4000000020 — booked for clinic",
}

var (
	chatOnce sync.Once
	chatText string
)

// clinicalChat returns about 1 MB of ward chat with an NHS number in one
// message in 250, built once from a fixed seed so every run measures the same text.
func clinicalChat() string {
	chatOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		var b strings.Builder
		for b.Len() < 1<<20 {
			if rng.IntN(250) == 0 {
				b.WriteString(nhsLines[rng.IntN(len(nhsLines))])
			} else {
				b.WriteString(chatLines[rng.IntN(len(chatLines))])
			}
			b.WriteByte('\n')
		}
		chatText = b.String()
	})
	return chatText
}

func BenchmarkContains(b *testing.B) {
	text := clinicalChat()
	// Contains stops at the first number; run it line by line, as intake sees
	// messages, so the whole megabyte is scanned.
	lines := strings.Split(text, "\n")
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		found := 0
		for _, line := range lines {
			if Contains(line) {
				found++
			}
		}
		if found == 0 {
			b.Fatal("no NHS number found in the chat")
		}
	}
}

func BenchmarkCount(b *testing.B) {
	text := clinicalChat()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if Count(text) == 0 {
			b.Fatal("no NHS number found in the chat")
		}
	}
}
