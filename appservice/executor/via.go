package executor

import "context"

type viaKey struct{}

// WithVia names how an input that is not a room event reached the bot: the
// admin API's token ("token:ig-lead") or the IG admins' pages
// ("admin_web"). Every audit entry written under it keeps it as "via", so
// an act done through the admin surface names both the person it was done
// as (the entry's actor) and what they used.
func WithVia(ctx context.Context, via string) context.Context {
	return context.WithValue(ctx, viaKey{}, via)
}

// ViaOf is the channel named by WithVia, or "".
func ViaOf(ctx context.Context) string {
	v, _ := ctx.Value(viaKey{}).(string)
	return v
}

// withVia is detail with ctx's channel added (a copy: the caller's map is
// left as it was).
func withVia(ctx context.Context, detail map[string]any) map[string]any {
	via := ViaOf(ctx)
	if via == "" {
		return detail
	}
	out := make(map[string]any, len(detail)+1)
	for k, v := range detail {
		out[k] = v
	}
	out["via"] = via
	return out
}
