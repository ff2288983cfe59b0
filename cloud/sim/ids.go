package sim

import (
	"fmt"
	"strings"
)

// kind is a kind of EC2 resource as its ids and errors name it.
type kind struct {
	prefix    string // id prefix, e.g. "eni-"
	noun      string // as error messages name it
	notFound  string // error code for an unknown id
	malformed string // error code for an id not of the form prefix-hex
}

var (
	kindVPC        = kind{"vpc-", "vpc", CodeVpcNotFound, CodeVpcMalformed}
	kindSubnet     = kind{"subnet-", "subnet", CodeSubnetNotFound, CodeSubnetMalformed}
	kindInstance   = kind{"i-", "instance", CodeInstanceNotFound, CodeInstanceMalformed}
	kindENI        = kind{"eni-", "networkInterface", CodeENINotFound, CodeENIMalformed}
	kindAttachment = kind{"eni-attach-", "attachment", CodeAttachmentNotFound, CodeAttachmentNotFound}
	kindSG         = kind{"sg-", "security group", CodeGroupNotFound, CodeGroupMalformed}
)

// taggable are the kinds CreateTags and DeleteTags accept.
var taggable = []kind{kindVPC, kindSubnet, kindInstance, kindENI}

// idHexDigits is how many hex digits follow the prefix of a new id.
const idHexDigits = 17

// kindOf returns the taggable kind an id's prefix names.
func kindOf(id string) (kind, bool) {
	if strings.HasPrefix(id, kindAttachment.prefix) {
		return kindAttachment, false
	}
	for _, k := range taggable {
		if strings.HasPrefix(id, k.prefix) {
			return k, true
		}
	}
	return kind{}, false
}

// wellFormed reports whether id is the kind's prefix followed by 1 to 17
// lowercase hex digits (EC2 has both 8- and 17-digit ids).
func wellFormed(k kind, id string) bool {
	hex, ok := strings.CutPrefix(id, k.prefix)
	if !ok || len(hex) == 0 || len(hex) > idHexDigits {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkID returns the kind's Malformed error when id is not well formed.
func checkID(k kind, id string) error {
	if !wellFormed(k, id) {
		return malformed(k, id)
	}
	return nil
}

// newID returns a fresh id of the kind: prefix and 17 lowercase hex digits,
// drawn from the world's seeded source.
func (w *World) newID(k kind) string {
	const digits = "0123456789abcdef"
	for {
		var b strings.Builder
		b.WriteString(k.prefix)
		for range idHexDigits {
			b.WriteByte(digits[w.rng.IntN(16)])
		}
		if id := b.String(); !w.ids[id] {
			w.ids[id] = true
			return id
		}
	}
}

// newMAC returns a fresh, locally administered unicast MAC, 02:xx:xx:xx:xx:xx.
func (w *World) newMAC() string {
	for {
		v := w.rng.Uint64()
		mac := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x",
			byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		if !w.macs[mac] {
			w.macs[mac] = true
			return mac
		}
	}
}
