"""The CPU's vector code: LLVM intrinsics for the unweighted and pixel-weighted SSD of whole patch
rows (8-lane masked vector loads), the njit dispatchers that pick a block size for the row
length, and a cache prefetch hint. Only the CPU namespace table (:mod:`._cpu`) uses them.
"""

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _vector_patch_ssd(chunks: int, long_rows: bool = False, weighted: bool = False):
    """An intrinsic ``f(T, ty0, tx0, S, sy0, sx0, n, rows, limit)`` = ``_patch_ssd_py`` as one LLVM
    loop over the rows. A row is read in blocks of ``chunks`` 8-lane masked vector loads per array
    (lanes at or past ``n`` are never read, so a row that ends at the end of an array is safe):
    one block when ``n <= 8 * chunks`` (masks computed once per patch), or, with ``long_rows``, as
    many blocks as the row needs (an inner loop). Lane-wise squared differences are summed into one
    vector per row, reduced in a fixed order (8 -> 4 -> 2 -> 1) and added to the running sum; then
    the early exit. Numba's scalar loops do not vectorise at these short trip counts (21 values for
    a 7-pixel RGB patch row).

    With ``weighted`` the intrinsic is ``f(T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit)``: ``Wt``
    has ``T``'s shape and layout (the pixel weights repeated over the channels) and every lane's
    squared difference is multiplied by its weight, i.e. the pixel-weighted SSD of the module
    docstring (without a kernel) at the cost of one more load and multiply per 8 values."""

    def _typer(sig):
        def codegen(context, builder, signature, args):
            if weighted:  # (T, Wt, ...) -> the unweighted argument order, Wt apart
                wt_ty, wt_arg = signature.args[1], args[1]
                args = (args[0], *args[2:])
                signature = types.float32(signature.args[0], *signature.args[2:])
            f32 = ir.FloatType()
            i32 = ir.IntType(32)
            i64 = ir.IntType(64)
            v8 = ir.VectorType(f32, 8)
            i8p = ir.IntType(8).as_pointer()
            lanes = ir.Constant(ir.VectorType(i64, 8), list(range(8)))
            zero = ir.Constant(v8, [0.0] * 8)
            splat = ir.Constant(ir.VectorType(i32, 8), [0] * 8)
            mask_t = ir.VectorType(ir.IntType(1), 8)
            load = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(v8, [v8.as_pointer(), i32, mask_t, v8]),
                "llvm.masked.load.v8f32.p0")

            def wide(v):
                return builder.zext(v, i64) if v.type.width < 64 else v

            def start(aty, ary, y, x):
                arr = context.make_array(aty)(context, builder, ary)
                ptr = cgutils.get_item_pointer(context, builder, aty, arr, [wide(y), wide(x)],
                                               wraparound=False, boundscheck=False)
                return builder.bitcast(ptr, i8p), builder.extract_value(arr.strides, 0)

            def masks_for(left):  # lanes of each chunk below `left` values
                out = []
                for c in range(chunks):
                    v = builder.insert_element(ir.Constant(ir.VectorType(i64, 8), ir.Undefined),
                                               builder.sub(left, ir.Constant(i64, 8 * c)),
                                               ir.Constant(i32, 0))
                    out.append(builder.icmp_signed("<", lanes, builder.shuffle_vector(v, v, splat)))
                return out

            def block(ft, fs, fw, masks, vacc):  # vacc + sum of [w *] (t - s)**2 over one block
                for c in range(chunks):
                    off = ir.Constant(i64, 8 * c)
                    vt = builder.call(load, [builder.bitcast(builder.gep(ft, [off]), v8.as_pointer()),
                                             ir.Constant(i32, 4), masks[c], zero])
                    vs = builder.call(load, [builder.bitcast(builder.gep(fs, [off]), v8.as_pointer()),
                                             ir.Constant(i32, 4), masks[c], zero])
                    d = builder.fsub(vt, vs)
                    d2 = builder.fmul(d, d)
                    if fw is not None:
                        vw = builder.call(load, [builder.bitcast(builder.gep(fw, [off]), v8.as_pointer()),
                                                 ir.Constant(i32, 4), masks[c], zero])
                        d2 = builder.fmul(vw, d2)
                    vacc = builder.fadd(vacc, d2)
                return vacc

            pt0, st = start(signature.args[0], args[0], args[1], args[2])
            ps0, ss = start(signature.args[3], args[3], args[4], args[5])
            pw0, sw = start(wt_ty, wt_arg, args[1], args[2]) if weighted else (None, None)
            n, rows = wide(args[6]), wide(args[7])
            limit = context.cast(builder, args[8], signature.args[8], types.float32)  # f32 or inf
            masks = None if long_rows else masks_for(n)
            entry = builder.basic_block
            loop = builder.append_basic_block("patch_ssd.row")
            done = builder.append_basic_block("patch_ssd.done")
            builder.cbranch(builder.icmp_signed(">", rows, ir.Constant(i64, 0)), loop, done)

            builder.position_at_end(loop)
            r = builder.phi(i64)
            acc = builder.phi(f32)
            pt = builder.phi(i8p)
            ps = builder.phi(i8p)
            pw = builder.phi(i8p) if weighted else None
            r.add_incoming(ir.Constant(i64, 0), entry)
            acc.add_incoming(ir.Constant(f32, 0.0), entry)
            pt.add_incoming(pt0, entry)
            ps.add_incoming(ps0, entry)
            ft = builder.bitcast(pt, f32.as_pointer())
            fs = builder.bitcast(ps, f32.as_pointer())
            fw = None
            if weighted:
                pw.add_incoming(pw0, entry)
                fw = builder.bitcast(pw, f32.as_pointer())
            if long_rows:
                row_start = builder.basic_block
                inner = builder.append_basic_block("patch_ssd.block")
                builder.branch(inner)
                builder.position_at_end(inner)
                j = builder.phi(i64)
                vacc = builder.phi(v8)
                j.add_incoming(ir.Constant(i64, 0), row_start)
                vacc.add_incoming(zero, row_start)
                vnext = block(builder.gep(ft, [j]), builder.gep(fs, [j]),
                              builder.gep(fw, [j]) if weighted else None, masks_for(builder.sub(n, j)), vacc)
                j_next = builder.add(j, ir.Constant(i64, 8 * chunks))
                inner_end = builder.basic_block
                j.add_incoming(j_next, inner_end)
                vacc.add_incoming(vnext, inner_end)
                row_end = builder.append_basic_block("patch_ssd.row_end")
                builder.cbranch(builder.icmp_signed("<", j_next, n), inner, row_end)
                builder.position_at_end(row_end)
                row = vnext
            else:
                row = block(ft, fs, fw, masks, zero)
            for w in (4, 2, 1):
                lo = ir.Constant(ir.VectorType(i32, w), list(range(w)))
                hi = ir.Constant(ir.VectorType(i32, w), list(range(w, 2 * w)))
                row = builder.fadd(builder.shuffle_vector(row, row, lo), builder.shuffle_vector(row, row, hi))
            acc_next = builder.fadd(acc, builder.extract_element(row, ir.Constant(i32, 0)))
            r_next = builder.add(r, ir.Constant(i64, 1))
            more = builder.and_(builder.icmp_signed("<", r_next, rows),
                                builder.not_(builder.fcmp_ordered(">", acc_next, limit)))
            tail = builder.basic_block
            r.add_incoming(r_next, tail)
            acc.add_incoming(acc_next, tail)
            pt.add_incoming(builder.gep(pt, [st]), tail)
            ps.add_incoming(builder.gep(ps, [ss]), tail)
            if weighted:
                pw.add_incoming(builder.gep(pw, [sw]), tail)
            builder.cbranch(more, loop, done)

            builder.position_at_end(done)
            out = builder.phi(f32)
            out.add_incoming(ir.Constant(f32, 0.0), entry)
            out.add_incoming(acc_next, tail)
            return out

        return sig, codegen

    if weighted:
        def _wpatch_ssd_vec(typingctx, T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit):
            return _typer(types.float32(T, Wt, ty0, tx0, S, sy0, sx0, n, rows, limit))

        return intrinsic(_wpatch_ssd_vec)

    def _patch_ssd_vec(typingctx, T, ty0, tx0, S, sy0, sx0, n, rows, limit):
        return _typer(types.float32(T, ty0, tx0, S, sy0, sx0, n, rows, limit))

    return intrinsic(_patch_ssd_vec)


_patch_ssd8 = _vector_patch_ssd(1)
_patch_ssd16 = _vector_patch_ssd(2)
_patch_ssd24 = _vector_patch_ssd(3)
_patch_ssd32 = _vector_patch_ssd(4)
_patch_ssd_long = _vector_patch_ssd(4, long_rows=True)
_wpatch_ssd8 = _vector_patch_ssd(1, weighted=True)
_wpatch_ssd16 = _vector_patch_ssd(2, weighted=True)
_wpatch_ssd24 = _vector_patch_ssd(3, weighted=True)
_wpatch_ssd32 = _vector_patch_ssd(4, weighted=True)
_wpatch_ssd40 = _vector_patch_ssd(5, weighted=True)
_wpatch_ssd_long = _vector_patch_ssd(4, long_rows=True, weighted=True)


@numba.njit(cache=True, inline="always")
def _patch_ssd(T, ty0, bt, S, sy0, bs, n, rows, limit):
    # _patch_ssd_py on the CPU: vector blocks sized to the row (P * C values).
    if n <= 8:
        return _patch_ssd8(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 16:
        return _patch_ssd16(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 24:
        return _patch_ssd24(T, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 32:
        return _patch_ssd32(T, ty0, bt, S, sy0, bs, n, rows, limit)
    return _patch_ssd_long(T, ty0, bt, S, sy0, bs, n, rows, limit)


@numba.njit(cache=True, inline="always")
def _wpatch_ssd(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit):
    # The pixel-weighted SSD on the CPU: Wt holds the pixel weights repeated over the channels.
    if n <= 8:
        return _wpatch_ssd8(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 16:
        return _wpatch_ssd16(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 24:
        return _wpatch_ssd24(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 32:
        return _wpatch_ssd32(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    if n <= 40:
        return _wpatch_ssd40(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)
    return _wpatch_ssd_long(T, Wt, ty0, bt, S, sy0, bs, n, rows, limit)


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """Hint the CPU to fetch ``arr[i, j]`` into the cache (LLVM ``llvm.prefetch``; no effect on
    results; the address is never dereferenced, so any index is safe)."""
    sig = types.void(arr, i, j)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]],
                                       wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, high locality
        return context.get_dummy_value()

    return sig, codegen
