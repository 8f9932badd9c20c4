"""``Report.save_html``: one self-contained HTML page with the findings and the plots behind them.

Everything is inline: the data as JSON in a ``<script type="application/json">`` block, a
small script that draws canvas heatmaps and SVG charts, and the CSS. Nothing is fetched
(no CDN, no fonts, no images), so the file opens offline and can be attached to a CI run.

Contents: the findings, grouped by cause; saturated/dead fractions; gradient norms per
layer over optimizer steps; reference-versus-current histograms of drifting layers;
BatchNorm batch-versus-running statistics; and per layer its activation histogram over
time (fastai's "colorful dimension": sampled forwards x bins, log-scaled counts).
Layers are grouped by block (module path prefix) in collapsible ``<details>``; plots are
drawn when a block is opened, and a filter box searches layer names and finding kinds,
so a 500-layer model stays usable.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from .profile import canonical, dense_hist, layer_key

_OPEN_ALL = 40  # models with at most this many layers start with every block open


def block_of(module: str) -> str:
    """The block a layer belongs to: its path up to the first repeated-layer index (``encoder.layer.3``)."""
    parts = module.split(".") if module else []
    indices = [i for i, part in enumerate(parts[:-1]) if part.isdigit()]
    if indices:  # a leading index is usually a wrapping Sequential's: prefer the next one
        i = next((i for i in indices if i > 0), indices[0])
        return ".".join(parts[: i + 1])
    if len(parts) > 1:
        return parts[0]
    return "(top level)"


def _coarse(hist: list[float], factor: int) -> list[float]:
    return [sum(hist[i : i + factor]) for i in range(0, len(hist), factor)]


def _num(x: Any, digits: int = 4) -> Any:
    """Rounded for the page (a smaller file); non-finite numbers become null."""
    if isinstance(x, float):
        return float(f"{x:.{digits}g}") if math.isfinite(x) else None
    return x


def _crop(rows: list[list[float]]) -> tuple[int, list[list[int]]]:
    """Columns x bins trimmed to the bins that are ever non-zero; (first bin, rows of integer counts)."""
    used = [b for row in rows for b, c in enumerate(row) if c > 0]
    if not used:
        return 0, []
    lo, hi = min(used), max(used)
    return lo, [[int(round(c)) for c in row[lo : hi + 1]] for row in rows]


def _kept_bins(rows: list[list[float]], gap: int = 3) -> tuple[list[int], list[list[int | None]]]:
    """The bins ever used, with each run of more than ``gap`` empty bins collapsed into one break (-1).

    The bins are on a signed log scale, so a layer with values of both signs has an empty
    stretch of tiny magnitudes between them; collapsing it keeps both sides readable.
    """
    used = sorted({b for row in rows for b, c in enumerate(row) if c > 0})
    kept: list[int] = []
    for b in used:
        if kept and b - kept[-1] > gap + 1:
            kept.append(-1)
        elif kept:
            kept.extend(range(kept[-1] + 1, b))
        kept.append(b)
    return kept, [[None if b < 0 else int(round(row[b])) for b in kept] for row in rows]


def build_data(report: Any, title: str | None = None) -> dict[str, Any]:
    """Everything the page draws, as JSON-ready host data (pulls the history: report time only)."""
    prof = report.profile
    history = report.history.to_dict() if report.history is not None else {}
    layers_prof = prof.layers if prof is not None else {}
    hist_layers = history.get("layers", {})
    grads = history.get("grads", {})
    kinds_by_module: dict[str, set[str]] = {}
    for f in report.details:
        for m in f.modules:
            kinds_by_module.setdefault(m, set()).add(f.kind)

    keys = list(layers_prof)
    keys += [k for k in hist_layers if k not in layers_prof]
    known_modules = {(layers_prof.get(k) or hist_layers[k])["module"] for k in keys}
    keys += [m for m in grads if m not in known_modules and m not in keys]
    layers = []
    for order, key in enumerate(keys):
        rec = layers_prof.get(key, {})
        hrec = hist_layers.get(key, {})
        module = rec.get("module", hrec.get("module", key))
        function = rec.get("function", hrec.get("function"))
        kept, rows = _kept_bins(hrec.get("hist", []))
        layer = {
            "key": key,
            "module": module,
            "function": function,
            "block": block_of(canonical(module)),
            "activation": rec.get("activation_name") or rec.get("activation"),
            "order": order,
            "mean": _num(rec.get("mean")),
            "std": _num(rec.get("std")),
            "min": _num(rec.get("min")),
            "max": _num(rec.get("max")),
            "zero": _num(rec.get("zero_fraction")),
            "sat": _num(rec.get("saturation_fraction")),
            "dead": _num(rec.get("dead_fraction")),
            "nonfinite": rec.get("nonfinite_calls", 0),
            "kinds": sorted(kinds_by_module.get(module, ())),
            "hist_bins": kept,
            "hist": rows,
            "h_mean": [_num(v) for v in hrec.get("mean", [])],
            "h_std": [_num(v) for v in hrec.get("std", [])],
            "grad": [_num(v) for v in grads.get(module, [])] if not function else [],
        }
        layers.append(layer)

    data: dict[str, Any] = {
        "title": title or "tensorlint runtime report",
        "summary": {k: v for k, v in report.summary.items() if k not in ("options", "internal_errors")},
        "internal_errors": list(report.summary.get("internal_errors", [])),
        "world_size": getattr(report, "world_size", 1),
        "findings": [f.to_dict() for f in report.findings],
        "edges": [_num(e, 3) for e in history.get("edges", [])],
        "forwards": history.get("forwards", []),
        "grad_steps": history.get("grad_steps", []),
        "layers": layers,
        "open_all": len(layers) <= _OPEN_ALL,
        "drift": _drift(report, history),
        "bn": _batchnorm(layers_prof),
        "has_reference": report.reference is not None,
    }
    return data


def _drift(report: Any, history: dict) -> list[dict[str, Any]]:
    """Reference versus current histograms (coarse bins, as densities) of every drifting layer."""
    prof, ref = report.profile, report.reference
    if prof is None or ref is None:
        return []
    bins = prof.meta.get("hist_bins", 480)
    factor = max(1, bins // max(1, history.get("bins", 120)))
    refs = {canonical(k): v for k, v in ref.layers.items()}
    refs.update(ref.layers)
    out = []
    for f in report.details:
        if f.kind != "drift":
            continue
        key = layer_key(f.module, f.details.get("function") or "")
        live = prof.layers.get(key)
        base = ref.layers.get(key) or refs.get(canonical(key))
        if live is None or base is None:
            continue
        a, b = _coarse(dense_hist(live, bins), factor), _coarse(dense_hist(base, bins), factor)
        lo, rows = _crop([a, b])
        ta, tb = sum(a) or 1.0, sum(b) or 1.0
        out.append(
            {
                "key": key,
                "psi": _num(f.details.get("psi")),
                "shift": _num(f.details.get("mean_shift_std")),
                "lo": lo,
                "live": [_num(c / ta) for c in rows[0]] if rows else [],
                "ref": [_num(c / tb) for c in rows[1]] if rows else [],
                "rank": f.details.get("ranks"),
            }
        )
    return out


def _batchnorm(layers: dict[str, dict]) -> list[dict[str, Any]]:
    """Eval-mode BatchNorms: each channel's live mean (in running stds) and live/running variance."""
    out = []
    for key, rec in layers.items():
        if "bn_channel_z" not in rec:
            continue
        out.append(
            {
                "key": key,
                "z": rec["bn_channel_z"],
                "var": rec["bn_channel_var_ratio"],
                "mean_z": _num(rec.get("bn_mean_z")),
                "var_ratio": _num(rec.get("bn_var_ratio")),
                "tracked": rec.get("bn_batches_tracked"),
            }
        )
    return out


def render(report: Any, title: str | None = None) -> str:
    data = build_data(report, title)
    payload = json.dumps(data, allow_nan=False, separators=(",", ":"), default=str).replace("</", "<\\/")
    return _PAGE.replace("__TITLE__", html.escape(data["title"])).replace("__DATA__", payload)


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:12px 20px;position:sticky;top:0;z-index:2;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0}
header .sum{opacity:.85;font-size:13px}
#tl-filter{margin-left:auto;padding:5px 8px;border-radius:4px;border:0;min-width:260px}
main{padding:8px 20px 40px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:14px 0;padding:10px 14px}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{font-size:12px;color:#5b6475;text-transform:uppercase}
.sev{font-weight:600;border-radius:3px;padding:1px 6px;font-size:12px;color:#fff}
.sev-error{background:#c62828}.sev-warning{background:#e69500}.sev-info{background:#1e88e5}
.kindrow td{background:#f0f2f6;font-weight:600}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f0f2f6;padding:0 3px;border-radius:3px}
details.block{border:1px solid #e3e6eb;border-radius:5px;margin:6px 0;background:#fff}
details.block>summary{cursor:pointer;padding:6px 10px;font-weight:600}
details.block>summary .meta{font-weight:400;color:#5b6475;margin-left:8px}
.layer{display:grid;grid-template-columns:260px 1fr;gap:10px;padding:8px 12px;border-top:1px solid #eceef2}
.layer .name{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.layer .stats{color:#5b6475;font-size:12px}
.plots{display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start}
.plot{font-size:11px;color:#5b6475}
.plot canvas{border:1px solid #dde1e7;image-rendering:pixelated;display:block}
.badge{display:inline-block;background:#fdecea;color:#b71c1c;border-radius:3px;padding:0 5px;margin:2px 2px 0 0;font-size:11px}
.hidden{display:none!important}
#tl-errors:empty{display:none}
#tl-errors{background:#fdecea;color:#b71c1c;padding:8px;border-radius:4px;white-space:pre-wrap}
.note{color:#5b6475;font-size:12px}
svg text{font:10px system-ui,sans-serif;fill:#5b6475}
</style></head>
<body>
<header><h1 id="tl-title">__TITLE__</h1><span class="sum" id="tl-summary"></span>
<input id="tl-filter" type="search" placeholder="filter layers: name, block or finding kind" aria-label="filter layers"></header>
<main>
<div id="tl-errors"></div>
<section id="tl-findings"><h2>Findings, grouped by cause</h2><div id="tl-findings-body"></div></section>
<section id="tl-fractions"><h2>Saturated and dead fractions</h2><p class="note">Layers with a saturated (sigmoid/tanh/softmax at their asymptotes) or dead (ReLU units that never fire) fraction above 1%, worst first; the dashed line is the 50% threshold.</p><div id="tl-fractions-body"></div></section>
<section id="tl-grads"><h2>Gradient norms per layer over optimizer steps</h2><p class="note">Colour: log10 of the L2 norm of the layer's gradients, averaged over the sampled steps in each interval; rows in execution order.</p><div id="tl-grads-body"></div></section>
<section id="tl-drift"><h2>Drift: reference versus current histograms</h2><div id="tl-drift-body"></div></section>
<section id="tl-bn"><h2>BatchNorm: batch versus running statistics</h2><p class="note">Per channel, in eval mode: the live batch mean in running standard deviations from the running mean (|z| &gt; 1 on average is reported), and live variance / running variance (outside [1/4, 4] is reported).</p><div id="tl-bn-body"></div></section>
<section id="tl-layers"><h2>Layers by block</h2><p class="note">Activation histogram over time per layer (x: sampled forwards, y: value on a signed log scale, colour: log count, as fastai's "colorful dimension"), then mean &plusmn; std over time and the gradient norm of the layer's parameters. Plots are drawn when a block is opened.</p><div id="tl-blocks"></div></section>
</main>
<script type="application/json" id="tl-data">__DATA__</script>
<script>
(function(){
"use strict";
var errors=document.getElementById("tl-errors");
function fail(msg){errors.textContent+=msg+"\n";document.body.setAttribute("data-tl-errors",String((+document.body.getAttribute("data-tl-errors")||0)+1));}
window.addEventListener("error",function(e){fail("script error: "+e.message);});
var D=JSON.parse(document.getElementById("tl-data").textContent);
var NS="http://www.w3.org/2000/svg";
var drawn=0;
function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs||{}){e.setAttribute(k,attrs[k]);}if(text!=null){e.textContent=text;}return e;}
function sv(tag,attrs,text){var e=document.createElementNS(NS,tag);for(var k in attrs||{}){e.setAttribute(k,attrs[k]);}if(text!=null){e.textContent=text;}return e;}
function fmt(v){if(v==null){return "n/a";}var a=Math.abs(v);if(a!==0&&(a<1e-3||a>=1e4)){return v.toExponential(2);}return (Math.round(v*1000)/1000).toString();}
function pct(v){return v==null?"n/a":(100*v).toFixed(1)+"%";}
var VIR=[[68,1,84],[71,44,122],[59,81,139],[44,113,142],[33,144,141],[39,173,129],[92,200,99],[170,220,50],[253,231,37]];
function color(t){t=Math.max(0,Math.min(1,t));var x=t*(VIR.length-1),i=Math.min(VIR.length-2,Math.floor(x)),f=x-i,a=VIR[i],b=VIR[i+1];return [a[0]+(b[0]-a[0])*f,a[1]+(b[1]-a[1])*f,a[2]+(b[2]-a[2])*f];}

function summary(){
  var s=D.summary,parts=[D.findings.length+" finding(s)",(s.forwards||0)+" forwards ("+(s.sampled_forwards||0)+" sampled)"];
  if(s.optimizer_steps){parts.push(s.optimizer_steps+" optimizer steps");}
  if(D.world_size>1){parts.push(D.world_size+" ranks (plots over time: rank 0)");}
  if(s.models&&s.models.length>1){parts.push(s.models.length+" models (layer plots: the one with the most forwards)");}
  parts.push(D.layers.length+" layers");
  document.getElementById("tl-summary").textContent=parts.join(" \u00b7 ");
  (s.notes||[]).forEach(function(n){document.getElementById("tl-findings-body").appendChild(el("p",{"class":"note tl-note"},"note: "+n));});
  if(D.internal_errors.length){var p=el("p",{"class":"note"},"The monitor skipped some statistics: "+D.internal_errors.join("; "));document.getElementById("tl-findings-body").appendChild(p);}
}

function findings(){
  var body=document.getElementById("tl-findings-body");
  if(!D.findings.length){body.appendChild(el("p",{},"Nothing to report."));return;}
  var t=el("table",{id:"tl-findings-table"}),head=el("tr");
  ["severity","module(s)","count","message"].forEach(function(h){head.appendChild(el("th",{},h));});
  t.appendChild(head);
  var kinds=[];D.findings.forEach(function(f){if(kinds.indexOf(f.kind)<0){kinds.push(f.kind);}});
  kinds.forEach(function(kind){
    var kr=el("tr",{"class":"kindrow","data-kind":kind});var td=el("td",{colspan:"4"},kind);kr.appendChild(td);t.appendChild(kr);
    D.findings.forEach(function(f){
      if(f.kind!==kind){return;}
      var tr=el("tr",{"class":"finding","data-kind":f.kind,"data-modules":f.modules.join(" ")});
      var sev=el("td");sev.appendChild(el("span",{"class":"sev sev-"+f.severity},f.severity));tr.appendChild(sev);
      var mods=el("td");var shown=f.modules.slice(0,3).map(function(m){return m||"(root)";});
      shown.forEach(function(m){mods.appendChild(el("code",{},m));mods.appendChild(document.createTextNode(" "));});
      if(f.modules.length>3){var more=el("details");more.appendChild(el("summary",{},"+"+(f.modules.length-3)+" more"));more.appendChild(el("div",{},f.modules.slice(3).map(function(m){return m||"(root)";}).join(", ")));mods.appendChild(more);}
      tr.appendChild(mods);
      tr.appendChild(el("td",{},String(f.count)));
      var msg=f.message;if(f.details&&f.details.ranks){msg+=" [rank "+f.details.ranks.join(", ")+"]";}
      tr.appendChild(el("td",{},msg));
      t.appendChild(tr);
    });
  });
  body.appendChild(t);
}

function bars(items,width){
  var rowH=16,left=Math.min(300,8+7*Math.max.apply(null,items.map(function(i){return i.label.length;}).concat([4]))),w=width||620,plotW=w-left-60;
  var svg=sv("svg",{width:w,height:items.length*rowH+22,"class":"tl-bars",role:"img"});
  items.forEach(function(it,i){
    var y=i*rowH+4;
    svg.appendChild(sv("text",{x:left-6,y:y+10,"text-anchor":"end"},it.label));
    svg.appendChild(sv("rect",{x:left,y:y,width:plotW,height:rowH-4,fill:"#eef0f4"}));
    svg.appendChild(sv("rect",{x:left,y:y,width:Math.max(0,Math.min(1,it.value))*plotW,height:rowH-4,fill:it.color}));
    svg.appendChild(sv("text",{x:left+plotW+6,y:y+10},pct(it.value)));
  });
  var hx=left+plotW*0.5;
  svg.appendChild(sv("line",{x1:hx,x2:hx,y1:0,y2:items.length*rowH+4,stroke:"#c62828","stroke-dasharray":"3,3"}));
  svg.appendChild(sv("text",{x:hx+3,y:items.length*rowH+18},"50%"));
  drawn++;return svg;
}

function fractions(){
  var body=document.getElementById("tl-fractions-body"),items=[];
  D.layers.forEach(function(l){
    if(l.sat!=null&&l.sat>0.01){items.push({label:(l.key||"(root)")+" saturated",value:l.sat,color:"#e69500"});}
    if(l.dead!=null&&l.dead>0.01){items.push({label:(l.key||"(root)")+" dead",value:l.dead,color:"#6a1b9a"});}
  });
  items.sort(function(a,b){return b.value-a.value;});
  if(!items.length){body.appendChild(el("p",{},"No layer has more than 1% saturated or dead units."));return;}
  if(items.length>40){body.appendChild(el("p",{"class":"note"},"The 40 worst of "+items.length+"; each layer's own bars are in its block below."));items=items.slice(0,40);}
  body.appendChild(bars(items,760));
}

function heat(rows,maxv,cellW,cellH,flip){
  var nc=rows.length,nb=nc?rows[0].length:0,c=el("canvas",{width:Math.max(1,nc*cellW),height:Math.max(1,nb*cellH)});
  var g=c.getContext("2d");g.fillStyle="#f0f2f6";g.fillRect(0,0,c.width,c.height);
  for(var i=0;i<nc;i++){for(var b=0;b<nb;b++){var v=rows[i][b];if(v==null){continue;}
    if(v<0){g.fillStyle="#b8bec9";g.fillRect(i*cellW,(flip?(nb-1-b):b)*cellH,cellW,cellH);continue;}
    var rgb=color(v/maxv);g.fillStyle="rgb("+rgb.map(Math.round).join(",")+")";
    g.fillRect(i*cellW,(flip?(nb-1-b):b)*cellH,cellW,cellH);}}
  c.setAttribute("data-drawn","1");drawn++;return c;
}

function grads(){
  var body=document.getElementById("tl-grads-body");
  var rows=D.layers.filter(function(l){return l.grad&&l.grad.length;});
  if(!rows.length||!D.grad_steps.length){body.appendChild(el("p",{},"No gradients were recorded (no optimizer step while monitored, or grad_checks=False)."));return;}
  var logs=rows.map(function(l){return l.grad.map(function(v){return v&&v>0?Math.log10(v):null;});});
  var lo=Infinity,hi=-Infinity;logs.forEach(function(r){r.forEach(function(v){if(v!=null){lo=Math.min(lo,v);hi=Math.max(hi,v);}});});
  if(!isFinite(lo)){lo=0;hi=1;} if(hi-lo<1e-9){hi=lo+1;}
  var cols=D.grad_steps.length,cellW=Math.max(3,Math.min(16,Math.floor(560/cols))),cellH=rows.length>120?2:(rows.length>40?4:12);
  var T=[];for(var i=0;i<cols;i++){T.push(logs.map(function(r){var v=r[i];return v==null?null:(v-lo);}));}
  var wrap=el("div",{"class":"plots"}),left=el("div",{"class":"plot"});
  var c=heat(T,hi-lo,cellW,cellH,false);c.id="tl-grad-heatmap";left.appendChild(c);
  left.appendChild(el("div",{},"optimizer step "+D.grad_steps[0]+" \u2192 "+D.grad_steps[cols-1]+"; colour log10 \u2016g\u2016 from "+lo.toFixed(1)+" to "+hi.toFixed(1)));
  wrap.appendChild(left);
  if(rows.length<=40){var names=el("div",{"class":"plot"});rows.forEach(function(l){names.appendChild(el("div",{style:"height:"+cellH+"px;line-height:"+cellH+"px;font-size:10px"},l.module||"(root)"));});wrap.appendChild(names);}
  body.appendChild(wrap);
}

function lineChart(series,xs,opts){
  var w=opts.width||260,h=opts.height||90,pad=28,svg=sv("svg",{width:w,height:h,"class":"tl-line",role:"img"});
  var vals=[];series.forEach(function(s){s.ys.forEach(function(v,i){if(v!=null&&(!opts.log||v>0)){vals.push(opts.log?Math.log10(v):v);var b=s.band?s.band[i]:null;if(b!=null){vals.push(v+b,v-b);}}});});
  if(!vals.length){svg.appendChild(sv("text",{x:4,y:h/2},"no data"));drawn++;return svg;}
  var lo=Math.min.apply(null,vals),hi=Math.max.apply(null,vals);if(hi-lo<1e-12){hi=lo+1;lo=lo-1;}
  var n=xs.length,X=function(i){return pad+(n>1?i/(n-1):0.5)*(w-pad-6);},Y=function(v){return 6+(1-(v-lo)/(hi-lo))*(h-20);};
  svg.appendChild(sv("line",{x1:pad,x2:w-6,y1:h-14,y2:h-14,stroke:"#ccd"}));
  svg.appendChild(sv("text",{x:2,y:12},opts.log?"1e"+hi.toFixed(1):fmt(hi)));
  svg.appendChild(sv("text",{x:2,y:h-16},opts.log?"1e"+lo.toFixed(1):fmt(lo)));
  svg.appendChild(sv("text",{x:pad,y:h-2},String(xs[0])));
  svg.appendChild(sv("text",{x:w-6,y:h-2,"text-anchor":"end"},String(xs[n-1])));
  series.forEach(function(s){
    if(s.band){var up=[],dn=[];s.ys.forEach(function(v,i){var b=s.band[i];if(v!=null&&b!=null){up.push(X(i)+","+Y(v+b));dn.unshift(X(i)+","+Y(v-b));}});
      if(up.length){svg.appendChild(sv("polygon",{points:up.concat(dn).join(" "),fill:s.color,"fill-opacity":"0.15",stroke:"none"}));}}
    var pts=[];s.ys.forEach(function(v,i){if(v!=null&&(!opts.log||v>0)){pts.push(X(i).toFixed(1)+","+Y(opts.log?Math.log10(v):v).toFixed(1));}});
    svg.appendChild(sv("polyline",{points:pts.join(" "),fill:"none",stroke:s.color,"stroke-width":"1.5"}));
  });
  drawn++;return svg;
}

function histPair(d){
  var w=320,h=110,n=Math.max(d.live.length,1),bw=(w-10)/n,mx=Math.max.apply(null,d.live.concat(d.ref).concat([1e-9]));
  var svg=sv("svg",{width:w,height:h,"class":"tl-drift-hist",role:"img"});
  function poly(arr,col,fill){var pts=["5,"+(h-16)];arr.forEach(function(v,i){var y=h-16-(v||0)/mx*(h-26);pts.push((5+i*bw).toFixed(1)+","+y.toFixed(1));pts.push((5+(i+1)*bw).toFixed(1)+","+y.toFixed(1));});pts.push((5+n*bw)+","+(h-16));svg.appendChild(sv("polygon",{points:pts.join(" "),fill:fill,"fill-opacity":"0.35",stroke:col}));}
  poly(d.ref,"#5b6475","#9aa3b5");poly(d.live,"#c62828","#ef9a9a");
  var e=D.edges;if(e.length){svg.appendChild(sv("text",{x:5,y:h-3},fmt(e[d.lo])));svg.appendChild(sv("text",{x:w-5,y:h-3,"text-anchor":"end"},fmt(e[d.lo+n])));}
  drawn++;return svg;
}

function drift(){
  var body=document.getElementById("tl-drift-body");
  if(!D.has_reference){body.appendChild(el("p",{},"No reference profile was given (Monitor(model, reference=...) or --reference)."));return;}
  if(!D.drift.length){body.appendChild(el("p",{},"No layer drifted from the reference profile."));return;}
  var wrap=el("div",{"class":"plots"});
  D.drift.forEach(function(d){var p=el("div",{"class":"plot tl-drift","data-name":d.key});
    p.appendChild(el("div",{},(d.key||"(root)")+": PSI "+fmt(d.psi)+", mean shift "+fmt(d.shift)+" ref. stds"));
    p.appendChild(histPair(d));p.appendChild(el("div",{},"grey: reference, red: current (densities)"));wrap.appendChild(p);});
  body.appendChild(wrap);
}

function bnPlot(b){
  var w=Math.max(160,Math.min(520,b.z.length*6+40)),h=110,n=b.z.length,bw=(w-40)/Math.max(1,n);
  var svg=sv("svg",{width:w,height:h,"class":"tl-bn-plot",role:"img"}),mid=h/2;
  var zmax=Math.max(2,Math.max.apply(null,b.z.map(function(v){return Math.abs(v||0);})));
  svg.appendChild(sv("line",{x1:30,x2:w,y1:mid,y2:mid,stroke:"#ccd"}));
  [1,-1].forEach(function(t){var y=mid-t/zmax*(mid-8);svg.appendChild(sv("line",{x1:30,x2:w,y1:y,y2:y,stroke:"#c62828","stroke-dasharray":"3,3"}));});
  svg.appendChild(sv("text",{x:2,y:12},"+"+fmt(zmax)));svg.appendChild(sv("text",{x:2,y:h-4},"-"+fmt(zmax)));
  b.z.forEach(function(v,i){if(v==null){return;}var y=mid-v/zmax*(mid-8);svg.appendChild(sv("rect",{x:30+i*bw,y:Math.min(y,mid),width:Math.max(1,bw-1),height:Math.abs(y-mid),fill:"#1e88e5"}));});
  b.var.forEach(function(v,i){if(v==null||v<=0){return;}var l=Math.log(v)/Math.log(4);var y=mid-Math.max(-1,Math.min(1,l/2))*(mid-8);svg.appendChild(sv("circle",{cx:30+(i+0.5)*bw,cy:y,r:2,fill:"#e69500"}));});
  drawn++;return svg;
}

function batchnorm(){
  var body=document.getElementById("tl-bn-body");
  if(!D.bn.length){body.appendChild(el("p",{},"No BatchNorm ran in eval mode on a sampled forward."));return;}
  var wrap=el("div",{"class":"plots"});
  D.bn.slice(0,60).forEach(function(b){var p=el("div",{"class":"plot tl-bn","data-name":b.key});
    p.appendChild(el("div",{},(b.key||"(root)")+": mean |z| "+fmt(b.mean_z)+", variance ratio "+fmt(b.var_ratio)+(b.tracked!=null?", "+b.tracked+" batches tracked":"")));
    p.appendChild(bnPlot(b));p.appendChild(el("div",{},"bars: live mean (running stds), dots: log4 of live/running variance"));wrap.appendChild(p);});
  body.appendChild(wrap);
  if(D.bn.length>60){body.appendChild(el("p",{"class":"note"},"First 60 of "+D.bn.length+" BatchNorms."));}
}

function layerPlots(l,box){
  var plots=el("div",{"class":"plots"});
  if(l.hist.length){
    var logs=l.hist.map(function(r){return r.map(function(c){return c==null?-1:(c>0?Math.log(1+c):null);});}),mx=1e-9;
    logs.forEach(function(r){r.forEach(function(v){if(v!=null&&v>mx){mx=v;}});});
    var nb=l.hist[0].length,cellW=Math.max(3,Math.min(12,Math.floor(360/l.hist.length))),cellH=Math.max(1,Math.min(6,Math.floor(96/nb)));
    var p=el("div",{"class":"plot"});p.appendChild(el("div",{},"histogram over time (log count)"));
    var c=heat(logs,mx,cellW,cellH,true);c.className="tl-colorful";p.appendChild(c);
    var e=D.edges,kb=l.hist_bins;if(e.length){var lab="y: "+fmt(e[kb[0]])+" \u2192 "+fmt(e[kb[kb.length-1]+1]);if(kb.indexOf(-1)>=0){lab+=" (grey rows: skipped empty range)";}p.appendChild(el("div",{},lab+"; x: forward "+D.forwards[0]+" \u2192 "+D.forwards[D.forwards.length-1]));}
    plots.appendChild(p);
  }
  if(l.h_mean.length){var q=el("div",{"class":"plot"});q.appendChild(el("div",{},"mean \u00b1 std over sampled forwards"));
    q.appendChild(lineChart([{ys:l.h_mean,band:l.h_std,color:"#1e88e5"}],D.forwards,{}));plots.appendChild(q);}
  if(l.sat!=null||l.dead!=null){var items=[];if(l.sat!=null){items.push({label:"saturated",value:l.sat,color:"#e69500"});}if(l.dead!=null){items.push({label:"dead",value:l.dead,color:"#6a1b9a"});}
    var r=el("div",{"class":"plot"});r.appendChild(el("div",{},"fractions"));r.appendChild(bars(items,300));plots.appendChild(r);}
  if(l.grad.length){var g=el("div",{"class":"plot"});g.appendChild(el("div",{},"gradient norm (log scale) over optimizer steps"));
    g.appendChild(lineChart([{ys:l.grad,color:"#c62828"}],D.grad_steps,{log:true}));plots.appendChild(g);}
  box.appendChild(plots);
}

function blocks(){
  var root=document.getElementById("tl-blocks"),groups={},order=[];
  D.layers.forEach(function(l){if(!groups[l.block]){groups[l.block]=[];order.push(l.block);}groups[l.block].push(l);});
  order.forEach(function(name){
    var ls=groups[name],bad=ls.filter(function(l){return l.kinds.length;}).length;
    var d=el("details",{"class":"block","data-name":name});
    var s=el("summary",{},name);s.appendChild(el("span",{"class":"meta"},ls.length+" layer(s)"+(bad?", "+bad+" with findings":"")));d.appendChild(s);
    ls.forEach(function(l){
      var row=el("div",{"class":"layer","data-name":(l.key+" "+name+" "+(l.activation||"")+" "+l.kinds.join(" ")).toLowerCase()});
      var info=el("div");info.appendChild(el("div",{"class":"name"},l.key||"(root)"));
      info.appendChild(el("div",{"class":"stats"},(l.activation?l.activation+" \u00b7 ":"")+"mean "+fmt(l.mean)+", std "+fmt(l.std)+", min "+fmt(l.min)+", max "+fmt(l.max)+(l.zero!=null?", zeros "+pct(l.zero):"")));
      l.kinds.forEach(function(k){info.appendChild(el("span",{"class":"badge"},k));});
      row.appendChild(info);var box=el("div");row.appendChild(box);row._layer=l;row._box=box;d.appendChild(row);
    });
    d.addEventListener("toggle",function(){if(d.open){renderBlock(d);}});
    root.appendChild(d);
    if(D.open_all||bad){d.open=true;renderBlock(d);}
  });
}
function renderBlock(d){
  Array.prototype.forEach.call(d.querySelectorAll(".layer"),function(row){
    if(row._done||row.classList.contains("hidden")){return;}
    row._done=true;try{layerPlots(row._layer,row._box);}catch(e){fail("layer "+row._layer.key+": "+e.message);}
  });
}

function filter(){
  var q=document.getElementById("tl-filter").value.trim().toLowerCase();
  Array.prototype.forEach.call(document.querySelectorAll("details.block"),function(d){
    var any=false,name=d.getAttribute("data-name").toLowerCase();
    Array.prototype.forEach.call(d.querySelectorAll(".layer"),function(row){var hit=!q||row.getAttribute("data-name").indexOf(q)>=0||name.indexOf(q)>=0;row.classList.toggle("hidden",!hit);any=any||hit;});
    d.classList.toggle("hidden",!any);
    if(q&&any&&!d.open){d.open=true;}
    if(d.open){renderBlock(d);}
  });
  Array.prototype.forEach.call(document.querySelectorAll("tr.finding"),function(tr){
    var hit=!q||(tr.getAttribute("data-kind")+" "+tr.getAttribute("data-modules")+" "+tr.textContent).toLowerCase().indexOf(q)>=0;tr.classList.toggle("hidden",!hit);});
}

[summary,findings,fractions,grads,drift,batchnorm,blocks].forEach(function(f){try{f();}catch(e){fail(f.name+": "+e.message);}});
document.getElementById("tl-filter").addEventListener("input",filter);
var q=(location.hash||"").match(/^#filter=(.*)$/);
if(q){document.getElementById("tl-filter").value=decodeURIComponent(q[1]);filter();}
document.body.setAttribute("data-tl-rendered",String(drawn));
})();
</script>
</body></html>
"""
