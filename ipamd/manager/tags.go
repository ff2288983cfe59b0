package manager

// Tags the manager puts on every ENI it creates, and the AWS VPC CNI's
// opt-out tag it honours.
const (
	// TagCreatedBy marks an ENI as made by vpc-cni; its value is
	// CreatedByValue.
	TagCreatedBy = "vpc-cni.io/created-by"
	// CreatedByValue is TagCreatedBy's value.
	CreatedByValue = "vpc-cni"
	// TagInstanceID is the instance the ENI was made for.
	TagInstanceID = "vpc-cni.io/instance-id"
	// TagCreatedAt is when the ENI was made, RFC 3339 in UTC; the
	// leaked-ENI cleanup spares ENIs younger than LeakedENIMinAge.
	TagCreatedAt = "vpc-cni.io/created-at"
	// TagClusterName is CLUSTER_NAME, when it is set.
	TagClusterName = "vpc-cni.io/cluster-name"
	// TagCreateToken is a random value, new for each create, by which the
	// manager finds the ENI a create whose answer was lost may have made.
	// It is left out when the ENI's tags would exceed MaxENITags.
	TagCreateToken = "vpc-cni.io/create-token"
	// MaxENITags is how many tags EC2 takes on an ENI.
	MaxENITags = 50
	// TagNoManage set to "true" on an ENI attached to the node keeps
	// ipamd's hands off it (the AWS VPC CNI's opt-out).
	TagNoManage = "node.k8s.amazonaws.com/no_manage"
)

// log keys of the manager's structured logs.
const (
	logKeyENI      = "eni"
	logKeyKind     = "kind"
	logKeyBlocks   = "blocks"
	logKeyError    = "error"
	logKeyClass    = "class"
	logKeyUntil    = "until"
	logKeyDevice   = "device_index"
	logKeyReason   = "reason"
	logKeyShort    = "short"
	logKeyExcess   = "excess"
	logKeyAge      = "age"
	logKeyDuration = "duration"
	logKeyPod      = "pod"
	logKeyIP       = "ip"
	logKeyAdopted  = "adopted"
	logKeyRemoved  = "removed"
	logKeyAdded    = "added"
	logKeyToken    = "create_token"
	logKeyVPCCIDRs = "vpc_cidrs"
)
