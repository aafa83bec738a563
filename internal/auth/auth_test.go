package auth

import (
	"testing"
)

func TestRoleFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		org, role string
		ok        bool
	}{
		{OrgHub, "hub_admin", true},
		{OrgHub, "worker", false},
		{OrgClient, "client_viewer", true},
		{OrgClient, "ops", false},
		{OrgCenter, "worker", true},
		{OrgCenter, "client_admin", false},
		{OrgCenter, "", false},
	}
	for _, tc := range tests {
		_, err := RoleFor(tc.org, tc.role)
		if (err == nil) != tc.ok {
			t.Errorf("RoleFor(%s, %q): got %v, want ok=%v", tc.org, tc.role, err, tc.ok)
		}
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	const acme, other, center = "acme", "other", "center"
	p := func(role Role, org string) Principal { return Principal{Role: role, OrgID: org} }
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"admin reads any client", p(HubAdmin, HubOrgID).CanReadClient(acme), true},
		{"ops manages any client", p(Ops, HubOrgID).CanManageClient(acme), true},
		{"viewer reads own client", p(ClientViewer, acme).CanReadClient(acme), true},
		{"viewer does not manage", p(ClientViewer, acme).CanManageClient(acme), false},
		{"client admin does not read other", p(ClientAdmin, acme).CanReadClient(other), false},
		{"worker reads no client", p(Worker, center).CanReadClient(center), false},
		{"center manager with a client's id reads nothing", p(CenterManager, acme).CanReadClient(acme), false},
		{"reviewer reviews", p(Reviewer, center).CanReview(), true},
		{"client admin does not review", p(ClientAdmin, acme).CanReview(), false},
		{"ops does not manage the hub org", p(Ops, HubOrgID).CanManageOrg(HubOrgID, OrgHub), false},
		{"admin manages the hub org", p(HubAdmin, HubOrgID).CanManageOrg(HubOrgID, OrgHub), true},
		{"manager manages own center", p(CenterManager, center).CanManageOrg(center, OrgCenter), true},
		{"manager does not manage another center", p(CenterManager, center).CanManageOrg("c2", OrgCenter), false},
		{"client admin manages own client", p(ClientAdmin, acme).CanManageOrg(acme, OrgClient), true},
		{"client admin does not manage a center", p(ClientAdmin, acme).CanManageOrg(center, OrgCenter), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestHashIsStableAndHidesTheSecret(t *testing.T) {
	t.Parallel()
	h := Hash("bny_secret")
	if h != Hash("bny_secret") || h == Hash("bny_secret2") || len(h) != 64 {
		t.Fatalf("Hash: got %q", h)
	}
}
