package main

import (
	"github.com/arbiterhq/arbiter/internal/dashboard"
	"github.com/arbiterhq/arbiter/internal/executor"
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/server"
)

// dashboardMounts serves the cost analytics dashboard at /dashboard/ on a server,
// behind its admin key.
func dashboardMounts(s *server.Server) []gateway.Mount {
	var health func() []executor.Health
	if s.Executor != nil {
		health = s.Executor.Health
	}
	h := dashboard.New(dashboard.Options{
		Store: s.Store, Health: health, AdminKey: s.Config.Server.AdminKey, Prefix: "/dashboard",
	})
	return []gateway.Mount{{Prefix: "/dashboard/", Handler: h}}
}
