package auth

// What the tests of package auth_test look at inside.
var (
	EncodeSecret  = encodeSecret
	SecretMatches = secretMatches
)
