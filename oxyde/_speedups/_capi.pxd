# C-API glue the compiled row loader needs and Cython's bundled declarations lack: the
# offset of an object slot (a ``__slots__`` member) and a store into it.
#
# Filling pydantic's three slots of a new instance through ``PyObject_GenericSetAttr`` costs
# a type lookup, a descriptor check and a call each, about a tenth of a 10-field row
# (bench/micro rows.*); a store at the member's offset is what that call ends in.

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags

    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member


cdef extern from "Python.h":
    object PyObject_GenericGetDict(object obj, void *context)
    # The instance's dict pointer, NULL where it has none: read without making a dict,
    # which PyObject_GenericGetDict does for an instance that has none yet.
    PyObject **_PyObject_GetDictPtr(object obj)
    bint PyObject_IS_GC(object obj)
    void PyObject_GC_UnTrack(void *obj)
    void PyObject_GC_Track(void *obj)
    int PyObject_GC_IsTracked(object obj)


cdef extern from "structmember.h":
    enum:
        T_OBJECT_EX
        READONLY


cdef inline PyObject **slot_address(object obj, Py_ssize_t offset):
    return <PyObject **> ((<char *> <PyObject *> obj) + offset)


cdef inline Py_ssize_t object_slot_offset(object descr):
    """The offset of the writable object slot ``descr`` describes, or -1 when it is another
    kind of member. The caller checks that ``descr`` is a ``types.MemberDescriptorType``."""
    cdef PyMemberDef *member
    member = (<PyMemberDescrObject *> descr).d_member
    if member.type != T_OBJECT_EX or member.flags & READONLY:
        return -1
    return member.offset


cdef inline void store_new_slot(object obj, Py_ssize_t offset, object value):
    """Put ``value`` into a slot of ``obj`` that nothing has set yet (freshly allocated
    memory is zeroed, so there is no old value to release)."""
    Py_INCREF(value)
    slot_address(obj, offset)[0] = <PyObject *> value


cdef inline bint slot_is_empty(object obj, Py_ssize_t offset):
    return slot_address(obj, offset)[0] is NULL


cdef inline object read_slot(object obj, Py_ssize_t offset):
    """The object in a slot of ``obj`` that is not empty (``slot_is_empty``)."""
    return <object> slot_address(obj, offset)[0]


cdef inline void replace_slot(object obj, Py_ssize_t offset, object value):
    """Put ``value`` into a slot of ``obj``, releasing what was there."""
    cdef PyObject **addr = slot_address(obj, offset)
    cdef PyObject *old = addr[0]
    Py_INCREF(value)
    addr[0] = <PyObject *> value
    Py_XDECREF(old)


cdef inline dict instance_dict(object obj):
    """``obj.__dict__`` without the attribute lookup: an oxyde model's ``__getattr__``
    makes ``obj.__dict__`` go through the slower hook path (a type lookup, the generic
    getattr, then the hook's checks), several hundred instructions per read in the
    relation loops. Raises ``AttributeError`` for an object without a ``__dict__``."""
    return <dict> PyObject_GenericGetDict(obj, NULL)


cdef inline void track(object obj):
    """Put ``obj`` back on the collector's list if it is off it (``PyObject_GC_Track``
    of a tracked object is a fatal error)."""
    if not PyObject_GC_IsTracked(obj):
        PyObject_GC_Track(<void *> obj)


cdef inline void untrack(object obj):
    PyObject_GC_UnTrack(<void *> obj)


cdef inline object existing_dict(object obj):
    """``obj``'s ``__dict__`` if it has one, else None; never makes one."""
    cdef PyObject **ptr = _PyObject_GetDictPtr(obj)
    if ptr is NULL or ptr[0] is NULL:
        return None
    return <object> ptr[0]


cdef inline bint untrack_if_atomic(tuple values):
    """Take a tuple of plain values (numbers, text, bytes, dates: nothing the collector
    tracks) off the collector's list, as CPython itself does the first time a collection
    visits such a tuple: a row a deferred instance keeps is otherwise visited once more by
    the young collection after the load that made it. True when it did."""
    cdef object item
    for item in values:
        if PyObject_IS_GC(item):
            return False
    PyObject_GC_UnTrack(<void *> values)
    return True
