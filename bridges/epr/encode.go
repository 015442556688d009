package epr

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// encode writes a resource as FHIR JSON. The FHIR models marshal every
// alternative of a choice element that is not a pointer — a payload with
// contentString also gets "contentAttachment": {} and "contentReference": {}
// — and FHIR forbids empty elements (ele-1) and more than one alternative, so
// the model's JSON is copied with empty strings, objects, arrays and nulls
// left out, in the model's order but for resourceType, which the model
// writes last and FHIR's examples and streaming parsers expect first.
func encode(resource any) ([]byte, error) {
	raw, err := json.Marshal(resource)
	if err != nil {
		return nil, fmt.Errorf("marshal FHIR resource: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if _, err := copyNonEmpty(dec, &out, "resourceType"); err != nil {
		return nil, fmt.Errorf("compact FHIR JSON: %w", err)
	}
	return out.Bytes(), nil
}

// copyNonEmpty copies the next JSON value from dec to out unless it is empty
// once its own empty members are left out; it reports whether it wrote.
// An object's member named first, if given, is written first.
func copyNonEmpty(dec *json.Decoder, out *bytes.Buffer, first string) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch v := tok.(type) {
	case json.Delim:
		return copyContainer(dec, out, v, first)
	case nil:
		return false, nil
	case string:
		if v == "" {
			return false, nil
		}
		return true, writeJSON(out, v)
	default: // json.Number, bool
		return true, writeJSON(out, v)
	}
}

func copyContainer(dec *json.Decoder, out *bytes.Buffer, open json.Delim, first string) (bool, error) {
	var members [][]byte
	for dec.More() {
		var member bytes.Buffer
		var key any
		if open == '{' {
			var err error
			if key, err = dec.Token(); err != nil {
				return false, err
			}
			if err := writeJSON(&member, key); err != nil {
				return false, err
			}
			member.WriteByte(':')
		}
		wrote, err := copyNonEmpty(dec, &member, "")
		if err != nil {
			return false, err
		}
		if !wrote {
			continue
		}
		if first != "" && key == first {
			members = append([][]byte{member.Bytes()}, members...)
		} else {
			members = append(members, member.Bytes())
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return false, err
	}
	if len(members) == 0 {
		return false, nil
	}
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	out.WriteByte(byte(open))
	out.Write(bytes.Join(members, []byte{','}))
	out.WriteByte(closing)
	return true, nil
}

// writeJSON writes one scalar without the HTML escaping json.Marshal adds:
// a clinician's "<" stays "<" in the record.
func writeJSON(out *bytes.Buffer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out.Truncate(out.Len() - 1) // Encode's newline
	return nil
}
