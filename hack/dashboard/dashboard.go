package main

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/jobcheck/jobcheck/contract"
)

// The dashboard's identity: Grafana keys provisioned dashboards by uid.
const (
	uid   = "jobcheck-jobs"
	title = "jobcheck / jobs"
)

// resolution is the constant behind $resolution (see varResolution).
const resolution = "15s"

// minInterval is the failure panels' smallest step: a multiple of
// resolution (so that the subquery's points fall on the steps), and long
// enough for a bar to count whole scrapes.
const minInterval = "1m"

// datasource is the Prometheus data source the dashboard's variable picks.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + varDatasource + "}")}

// jobs builds the dashboard "jobcheck / jobs".
func jobs() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description("The state of every Job and CronJob jobcheck monitors, their runs and attempts, and the webhook's admissions. docs/dashboard.md says what each panel shows.").
		Tags([]string{"jobcheck"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("1m").
		Time("now-24h", "now").
		Timezone(common.TimeZoneBrowser)
	for _, v := range variables() {
		b = b.WithVariable(v)
	}
	// Panel ids are fixed so that links to a panel (?viewPanel=ID) last.
	id := uint32(0)
	next := func() uint32 { id++; return id }
	b = b.WithRow(dashboard.NewRowBuilder("Workloads").Id(next())).
		WithPanel(workloadsTable().Id(next())).
		WithRow(dashboard.NewRowBuilder("Runs and attempts").Id(next()))
	for _, p := range []*timeseries.PanelBuilder{
		graph(panelDuration, "Duration of each workload's latest finished run: a step at every run.", "s").
			LineInterpolation(common.LineInterpolationStepAfter).ShowPoints(common.VisibilityModeAlways),
		bars(panelFailedRuns, "Runs (Job objects) that failed, per panel interval, labelled with the reason of the Job's failure ("+
			"BackoffLimitExceeded, DeadlineExceeded, ...). Failures closer together than $resolution count once, with the later reason."),
		bars(panelAttempts, "Attempts (one container's execution) that ended other than succeeded, per panel interval, by the attempt's reason "+
			"(failed, oom_killed, hung, terminated, signaled, lost, not_started). Attempts closer together than $resolution count once."),
		graph(panelRunning, "Runs in progress: Jobs of the workload without a terminal condition.", "none").
			LineInterpolation(common.LineInterpolationStepAfter).Decimals(0),
	} {
		b = b.WithPanel(p.Id(next()))
	}
	b = b.WithRow(dashboard.NewRowBuilder("Webhook").Id(next())).
		WithPanel(graph(panelAdmissions, "Admission requests the webhook answered, per second, by result (injected, skipped, error) and reason.", "reqps").Id(next())).
		WithPanel(unmonitoredTable().Id(next()))
	return b.Build()
}

// variables are the data source, the namespaces and jobs to show, and the
// hidden resolution of the failure panels.
func variables() []cog.Builder[dashboard.VariableModel] {
	ds := dashboard.NewDatasourceVariableBuilder(varDatasource).Label("Data source").Type("prometheus")
	out := []cog.Builder[dashboard.VariableModel]{ds}
	for _, lv := range variableQueries() {
		q := fmt.Sprintf("label_values(%s, %s)", lv.Match, lv.Label)
		out = append(out, dashboard.NewQueryVariableBuilder(lv.Variable).
			Label(lv.Variable).
			Datasource(datasource).
			Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
			Definition(q).
			Multi(true).
			IncludeAll(true).
			AllValue(".*").
			Current(dashboard.VariableOption{
				Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
				Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
			}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc))
	}
	return append(out, dashboard.NewConstantVariableBuilder(varResolution).
		Value(dashboard.StringOrMap{String: cog.ToPtr(resolution)}).
		Description("Subquery step of the failure panels: failures closer together count once."))
}

// target is a Prometheus query of a panel.
func target(q query, legend string) *prometheus.DataqueryBuilder {
	t := prometheus.NewDataqueryBuilder().Datasource(datasource).RefId(q.RefID).Expr(q.Expr)
	if q.Instant {
		return t.Instant().Format(prometheus.PromQueryFormatTable)
	}
	return t.Range().LegendFormat(legend)
}

// panelQuery is the query refID of panel.
func panelQuery(panel, refID string) query {
	for _, q := range panelQueries() {
		if q.Panel == panel && q.RefID == refID {
			return q
		}
	}
	panic("no query " + refID + " for panel " + panel) // a mistake in this file
}

// graph is a time series panel of one query, one line per workload (or
// per result and reason for the webhook's).
func graph(name, description, unit string) *timeseries.PanelBuilder {
	legend := "{{" + contract.LabelNamespace + "}}/{{" + contract.LabelJob + "}}"
	if name == panelAdmissions {
		legend = "{{" + contract.LabelResult + "}} {{" + contract.LabelReason + "}}"
	}
	return timeseries.NewPanelBuilder().
		Title(name).
		Description(description).
		Datasource(datasource).
		Span(12).Height(8).
		Unit(unit).
		Min(0).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		WithTarget(target(panelQuery(name, "A"), legend))
}

// bars is a stacked bar chart of counts per interval, by workload and reason.
func bars(name, description string) *timeseries.PanelBuilder {
	legend := "{{" + contract.LabelNamespace + "}}/{{" + contract.LabelJob + "}} {{" + contract.LabelReason + "}}"
	return timeseries.NewPanelBuilder().
		Title(name).
		Description(description).
		Datasource(datasource).
		Span(12).Height(8).
		Interval(minInterval).
		Unit("none").
		Decimals(0).
		Min(0).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		WithTarget(target(panelQuery(name, "A"), legend))
}
