package sim

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// ec2Namespace is the XML namespace of EC2 API version 2016-11-15, the
// version every current SDK speaks.
const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ec2TimeFormat is how EC2 writes timestamps: UTC with milliseconds.
const ec2TimeFormat = "2006-01-02T15:04:05.000Z"

// xItems is an EC2 list: <fooSet><item>...</item></fooSet>. A list with no
// items is still written, as an empty element, as EC2 does.
type xItems[T any] struct {
	Items []T `xml:"item"`
}

// xmlSet wraps items as an EC2 list.
func xmlSet[T any](items []T) xItems[T] { return xItems[T]{Items: items} }

// xReturn is the body of actions that answer only whether they succeeded.
type xReturn struct {
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

// xErrorResponse is EC2's error envelope.
type xErrorResponse struct {
	XMLName   xml.Name `xml:"Response"`
	Errors    []xError `xml:"Errors>Error"`
	RequestID string   `xml:"RequestID"`
}

type xError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// newRequestID returns a random UUID (version 4), EC2's request id format.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// xmlTime formats a timestamp as EC2 does.
func xmlTime(t time.Time) string { return t.UTC().Format(ec2TimeFormat) }

// writeEC2Headers sets the headers every EC2 answer carries.
func writeEC2Headers(w http.ResponseWriter, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "text/xml;charset=UTF-8")
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Server", "AmazonEC2")
}

// writeEC2Response writes <{action}Response xmlns=...>body</...>. body is a
// struct whose first field is the requestId.
func writeEC2Response(w http.ResponseWriter, action, requestID string, body any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Space: ec2Namespace, Local: action + "Response"}}
	if err := enc.EncodeElement(body, start); err != nil {
		return fmt.Errorf("encode %s response: %w", action, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode %s response: %w", action, err)
	}
	writeEC2Headers(w, requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// writeEC2Error writes EC2's error envelope with the error's status.
func writeEC2Error(w http.ResponseWriter, requestID string, e *APIError) {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	out, err := xml.Marshal(xErrorResponse{
		Errors:    []xError{{Code: e.Code, Message: e.Message}},
		RequestID: requestID,
	})
	if err != nil { // only strings: cannot happen, answer something valid anyway
		out = []byte("<Response><Errors><Error><Code>InternalError</Code></Error></Errors></Response>")
	}
	writeEC2Headers(w, requestID)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
