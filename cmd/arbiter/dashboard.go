package main

import (
	"github.com/arbiterhq/arbiter/internal/gateway"
	"github.com/arbiterhq/arbiter/internal/server"
)

// dashboardMounts serves the dashboard on a server.
func dashboardMounts(s *server.Server) []gateway.Mount { return nil }
