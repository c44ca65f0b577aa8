package main

import (
	"maps"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"

	"github.com/jobcheck/jobcheck/contract"
)

// workloadsTable is one row per monitored workload with its state at a
// glance. Each column is an instant query by namespace and job; Grafana's
// merge transformation joins them into rows, organize names and orders the
// columns.
func workloadsTable() *table.PanelBuilder {
	t := table.NewPanelBuilder().
		Title(panelWorkloads).
		Description("One row per workload (CronJob, or Job) jobcheck monitors: the latest finished run's result and Job condition reason, " +
			"when it ended, time since the latest success, runs in progress, whether an attempt was seen hung recently, " +
			"the CronJob's next-run deadline (schedule plus grace) and the failed runs in a row.").
		Datasource(datasource).
		Span(24).Height(10).
		CellHeight(common.TableCellHeightSm).
		Filterable(true).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName(colConsecutive).Desc(true),
		})
	rename := map[string]string{}
	order := map[string]int{contract.LabelNamespace: 0, contract.LabelJob: 1, contract.LabelResult: 2, contract.LabelReason: 3}
	exclude := map[string]bool{"Time": true}
	for i, q := range tableQueries() {
		q.Instant = true
		t = t.WithTarget(target(q, ""))
		value := "Value #" + q.RefID
		if q.column == "" {
			exclude[value] = true // the info metric: its labels are the columns
			continue
		}
		rename[value] = q.column
		order[value] = 4 + i
	}
	t = t.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": exclude,
			"indexByName":   order,
			"renameByName":  rename,
		}})

	t = t.OverrideByName(contract.LabelResult, []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: []dashboard.ValueMapping{valueMap(map[string][2]string{
			contract.ResultSucceeded: {contract.ResultSucceeded, "green"},
			contract.ResultFailed:    {contract.ResultFailed, "red"},
			contract.ResultStopped:   {contract.ResultStopped, "text"},
		})}},
		{Id: "custom.cellOptions", Value: common.TableColorTextCellOptions{Type: common.TableCellDisplayModeColorText}},
	})
	t = t.OverrideByName(colEnded, []dashboard.DynamicConfigValue{{Id: "unit", Value: "dateTimeFromNow"}})
	t = t.OverrideByName(colSinceOK, []dashboard.DynamicConfigValue{{Id: "unit", Value: "dtdurations"}})
	t = t.OverrideByName(colDeadline, []dashboard.DynamicConfigValue{{Id: "unit", Value: "dateTimeFromNow"}})
	t = t.OverrideByName(colRunning, []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: []dashboard.ValueMapping{valueMap(map[string][2]string{"0": {"no", "text"}})}},
		{Id: "thresholds", Value: thresholds("text", step(1, "blue"))},
		{Id: "custom.cellOptions", Value: common.TableColorTextCellOptions{Type: common.TableCellDisplayModeColorText}},
	})
	t = t.OverrideByName(colHung, []dashboard.DynamicConfigValue{
		{Id: "mappings", Value: []dashboard.ValueMapping{valueMap(map[string][2]string{"0": {"no", "text"}, "1": {contract.ReasonHung, "red"}})}},
		{Id: "custom.cellOptions", Value: common.TableColorTextCellOptions{Type: common.TableCellDisplayModeColorText}},
	})
	t = t.OverrideByName(colConsecutive, []dashboard.DynamicConfigValue{
		{Id: "thresholds", Value: thresholds("green", step(1, "orange"), step(3, "red"))},
		{Id: "custom.cellOptions", Value: common.TableColoredBackgroundCellOptions{Type: common.TableCellDisplayModeColorBackground}},
	})
	return t
}

// unmonitoredTable lists the workloads whose pods opted in but were
// admitted without monitoring in the dashboard's time range, and why.
func unmonitoredTable() *table.PanelBuilder {
	q := panelQuery(panelUnmonitored, "A")
	return table.NewPanelBuilder().
		Title(panelUnmonitored).
		Description("Pods that opted in to jobcheck (jobcheck.io/enabled) but were admitted without it, or with some containers unwrapped, " +
			"in the dashboard's time range, by workload and the webhook's reason. The Job and CronJob also carry a Warning event that says how to fix it.").
		Datasource(datasource).
		Span(12).Height(8).
		CellHeight(common.TableCellHeightSm).
		WithTarget(target(q, "")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true},
			"renameByName":  map[string]string{"Value": "pods"},
		}}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("pods").Desc(true),
		})
}

// valueMap maps values to a text and a color.
func valueMap(m map[string][2]string) dashboard.ValueMapping {
	opts := map[string]dashboard.ValueMappingResult{}
	i := int32(0)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		opts[k] = dashboard.ValueMappingResult{Text: cog.ToPtr(m[k][0]), Color: cog.ToPtr(m[k][1]), Index: cog.ToPtr(i)}
		i++
	}
	return dashboard.ValueMapping{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: opts}}
}

// thresholds is an absolute thresholds config: base color below the
// first step.
func thresholds(base string, steps ...dashboard.Threshold) dashboard.ThresholdsConfig {
	return dashboard.ThresholdsConfig{Mode: dashboard.ThresholdsModeAbsolute, Steps: append([]dashboard.Threshold{{Color: base}}, steps...)}
}

// step is the color from value v on.
func step(v float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: &v, Color: color}
}
